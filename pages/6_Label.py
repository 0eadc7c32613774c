"""Label: judge pooled results of a saved query, refine with feedback, see metrics, export qrels."""
import streamlit as st

from components.label.annotator import annotator
from components.label.fitted_panels import adapter_panel, cutoff_panel
from components.label.metrics import metrics_panel
from components.label.fitted import adapter_runs, cutoff_family, untuned_run, uncertain_order
from components.label.queue import judging_card
from components.label.transfer import export_buttons, import_qrels_form
from components.safe_text import md_escape
from components.sidebar import sidebar
from components.why import Explainer
from indexing.core.errors import SimLabError
from indexing.labels.label_store import LabelStore, qrels_of
from indexing.labels.judging import HELD_OUT_ADAPTER, all_runs, by_family, pool
from indexing.query.specs import Feedback, with_feedback

st.set_page_config(page_title="SimLab · Label", layout="wide")
lab = sidebar()
labels = LabelStore(lab.settings.data_dir)
records, vectors = lab.vectors()
st.title("Label")

queries = labels.queries()
if not queries:
    st.info("No saved queries yet. Use “Save query for labelling” on Neighbours, Compose, Condition or the Map.")
    import_qrels_form(labels, {r.id for r in records})
    st.stop()

c1, c2, c3, c4 = st.columns([2, 3, 1, 1])
with c1:
    name = annotator()
query = c2.selectbox("Saved query", queries, format_func=lambda q: f"{q.name} ({q.type}, {q.qid})", key="label-query")
depth = c3.number_input("Pool depth", 1, 50, 10, key="label-depth")
blind = c4.toggle("Blind", value=True, key="label-blind", help="Shuffle the pool; hide scores and methods.")

judgments = labels.judgments()  # read once per run: metrics, exports and feedback all use them
qrels = qrels_of(judgments)
try:
    saved = lab.saved_results(query.runnable, qrels.get(query.qid))
    rankings, matched = saved.rankings(), saved.matched_regions()
except SimLabError as exc:
    st.warning(md_escape(exc))
    rankings, matched = {}, {}
items = pool(rankings, int(depth))
by_id = {r.id: r for r in records}
probe = untuned_run(lab, query) if query.spec is not None else None  # one run serves both panels below
order = uncertain_order(lab, probe, items) if query.spec is not None and st.toggle(
    "Most uncertain first", key="label-uncertain", help="Judge first the items whose P(relevant) is closest to "
    "0.5: each such judgment teaches the relevance cut-off the most.") else None
if name is None:
    st.caption("Type your name to start judging; it is recorded with every judgment.")
elif items:
    judging_card(labels, query, rankings, items, by_id, lab.blobs, name, blind,
                 sum(j.qid == query.qid for j in judgments), order,
                 Explainer(lab, query.runnable, regions=matched) if query.spec is not None else None)

if query.spec is not None:
    with st.expander("Refine with my judgments (Rocchio)"):
        f1, f2, f3, f4 = st.columns(4)
        now = query.spec.feedback or Feedback()
        params = {k: f.number_input(k, 0.0, 5.0, float(getattr(now, k)), 0.05, key=f"rocchio-{k}")
                  for f, k in zip((f1, f2, f3), ("alpha", "beta", "gamma"))}
        if f4.button("Refine", key="rocchio-refine"):
            labels.save_query(query.name, with_feedback(query.spec, Feedback(**params)), qid=query.qid)
            st.rerun()

st.subheader("Metrics")
runs, not_run = all_runs(queries, qrels, lab.saved_results)
if st.toggle("Measure an adapter on held-out queries", key="label-adapter-cv", help="Adds a row per query family: "
             "each saved query ranked by an adapter trained on the other queries' judgments (5 trainings; a few "
             "seconds).") and (held_out := adapter_runs(lab)):
    runs.update(by_family(held_out, queries, HELD_OUT_ADAPTER))
metrics_panel(runs, qrels, judgments, not_run)
if query.spec is not None:
    cutoff_panel(lab, cutoff_family(probe))
adapter_panel(lab)
export_buttons(labels, runs)
import_qrels_form(labels, {r.id for r in records})
