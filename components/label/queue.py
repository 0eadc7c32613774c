"""The judging card: progress, grade buttons and the item, as a fragment, so a judgment reruns only this
card (one indexed read of this query's judgments), not the metrics over every judgment in the store."""
from __future__ import annotations

import streamlit as st

from components.cards import item_card
from components.why import Explainer
from components.label.buttons import label_buttons
from components.safe_text import md_escape
from components.label.metrics import metrics_tables
from indexing.labels.judging import next_to_judge, run_name
from indexing.labels.label_store import LabelError, LabelStore, SavedQuery, qrels_of
from indexing.query.runner import Ranking
from indexing.store.chroma import Record

PROBLEM = "label-problem"
COMPLETE = "label-complete"  # (qid, judgments) the page was last redrawn for when a pool was finished


@st.fragment
def judging_card(labels: LabelStore, query: SavedQuery, rankings: dict[str, Ranking], items: list[str],
                 by_id: dict[str, Record], blobs, annotator: str, blind: bool, metrics_saw: int,
                 order: list[str] | None = None, why: Explainer | None = None) -> None:
    """``metrics_saw``: how many judgments of this query the metrics below were computed from; ``order``:
    the order to judge in (most uncertain first), instead of the (blind) pool order."""
    judged = labels.judgments(query.qid)
    if metrics_saw == 0 and judged:
        st.rerun()  # the first judgment of a query: redraw the metrics too, so they never read "no judgments"
    mine = {j.item_id for j in judged if j.annotator == annotator}
    skipped = st.session_state.setdefault(f"label-skipped-{query.qid}", [])
    done = len([i for i in items if i in mine])
    st.progress(done / len(items), text=f"{done} / {len(items)} judged")
    current = next_to_judge(items, mine, skipped, query.qid, annotator, blind, order)
    if current is None:
        st.success("Every pooled item is judged. Refine with feedback, or pick another query.")
        if st.session_state.get(COMPLETE) != (query.qid, len(judged)):
            st.session_state[COMPLETE] = (query.qid, len(judged))
            st.rerun()  # the pool is done: the whole page once, so the table over all queries is current too
        _this_query(query, rankings, judged, metrics_saw)
        return

    def grade(g: int) -> None:
        try:
            labels.judge(query.qid, current, annotator, g)
        except LabelError as exc:  # e.g. a full disk: say so; the button can be pressed again
            st.session_state[PROBLEM] = str(exc)

    def skip() -> None:  # skipped items come back once everything else is judged
        skipped.append(current)

    label_buttons(labels.scale, grade, skip, key="grade")
    if problem := st.session_state.pop(PROBLEM, None):
        st.error(md_escape(problem))
    item_card(by_id[current], blobs, key_prefix="label", large=True, why=why)
    if not blind:
        st.caption(" · ".join(f"{m} #{[d for d, _ in r].index(current) + 1}" for m, r in rankings.items()
                              if current in [d for d, _ in r]))
    _this_query(query, rankings, judged, metrics_saw)


def _this_query(query: SavedQuery, rankings: dict[str, Ranking], judged: list, metrics_saw: int) -> None:
    """This query's metrics per method from its judgments so far: redrawn with the card after each judgment."""
    if not judged:
        return
    runs = {run_name(query.family, m): {query.qid: dict(r)} for m, r in rankings.items()}
    table, _ = metrics_tables(runs, {query.qid: qrels_of(judged).get(query.qid, {})})
    stale = "" if metrics_saw == len(judged) else (
        f" The table over all queries below was drawn with {metrics_saw} of them; it is redrawn when the page "
        "runs again (press R, or finish the pool).")
    st.caption(f"This query, with all {len(judged)} of its judgments so far.{stale}")
    st.dataframe(table.drop(columns=["judged queries"]), hide_index=True, width="stretch", key="label-this-query")
