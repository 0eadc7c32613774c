"""Label: judge pooled results of a saved query, refine with feedback, see metrics, export qrels."""
import streamlit as st

from components.cards import item_card
from components.label_buttons import label_buttons
from components.label_metrics import metrics_panel
from components.label_transfer import export_buttons, import_qrels_form
from components.resources import saved_rankings
from components.sidebar import sidebar
from indexing.labels import LabelError, LabelStore, qrels_of
from indexing.saved_runs import ROCCHIO_DEFAULTS, all_runs, blind_order, pool

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
annotator = c1.text_input("Annotator", key="label-annotator", placeholder="your name")
query = c2.selectbox("Saved query", queries, format_func=lambda q: f"{q.name} ({q.type}, {q.qid})", key="label-query")
depth = c3.number_input("Pool depth", 1, 50, 10, key="label-depth")
blind = c4.toggle("Blind", value=True, key="label-blind", help="Shuffle the pool; hide scores and methods.")

judgments = labels.judgments()  # read once per run: metrics, exports and feedback all use them
qrels = qrels_of(judgments)
try:
    rankings = saved_rankings(lab, query, qrels)
except (LabelError, ValueError) as exc:
    st.warning(str(exc))
    rankings = {}
items = pool(rankings, int(depth))
by_id = {r.id: r for r in records}
if not annotator.strip():
    st.caption("Type your name to start judging; it is recorded with every judgment.")
elif items:
    mine = {j.item_id: j.rel for j in judgments if j.qid == query.qid and j.annotator == annotator.strip()}
    order = blind_order(items, query.qid, annotator.strip()) if blind else items
    skipped = st.session_state.setdefault(f"label-skipped-{query.qid}", [])
    todo = [i for i in order if i not in mine and i not in skipped] or [i for i in order if i not in mine]
    st.progress(len([i for i in items if i in mine]) / len(items),
                text=f"{len([i for i in items if i in mine])} / {len(items)} judged")
    if todo:
        current = todo[0]

        def skip() -> None:  # skipped items come back once everything else is judged
            skipped.append(current)

        def grade(g: int) -> None:
            try:
                labels.judge(query.qid, current, annotator, g)
            except LabelError as exc:  # e.g. a full disk: say so; the button can be pressed again
                st.session_state["label-problem"] = str(exc)

        label_buttons(labels.scale, grade, skip, key="grade")
        if problem := st.session_state.pop("label-problem", None):
            st.error(problem)
        item_card(by_id[current], lab.blobs, key_prefix="label", large=True)
        if not blind:
            st.caption(" · ".join(f"{m} #{[d for d, _ in r].index(current) + 1}" for m, r in rankings.items()
                                  if current in [d for d, _ in r]))
    else:
        st.success("Every pooled item is judged. Refine with feedback, or pick another query.")

with st.expander("Refine with my judgments (Rocchio)"):
    f1, f2, f3, f4 = st.columns(4)
    params = {k: f.number_input(k, 0.0, 5.0, float(query.spec.get("feedback", {}).get(k, v)), 0.05,
                                key=f"rocchio-{k}") for f, (k, v) in zip((f1, f2, f3), ROCCHIO_DEFAULTS.items())}
    if f4.button("Refine", key="rocchio-refine"):
        labels.save_query(query.name, {**query.spec, "feedback": params}, qid=query.qid)
        st.rerun()

st.subheader("Metrics")
runs, _ = all_runs(queries, lambda q: saved_rankings(lab, q, qrels))
metrics_panel(runs, qrels, judgments)
export_buttons(qrels, judgments, runs)
import_qrels_form(labels, {r.id for r in records})
