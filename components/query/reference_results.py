"""The lower half of Compose and Condition: run the page's spec, then notes, saving, the calibrated cut-off and
each method's results side by side (one component, so the two pages cannot drift apart)."""
from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from components.gallery import gallery
from components.label.fitted import likely_relevant
from components.query.method_columns import method_columns
from components.query.save import save_query_button
from components.safe_text import md_escape
from components.why import Explainer
from indexing.core.errors import SimLabError
from indexing.lab import Lab
from indexing.query.runner import Results
from indexing.query.specs import QuerySpec


def reference_results(lab: Lab, build: Callable[[], QuerySpec], labels: dict[str, str], score_names: dict[str, str],
                      k: int, key: str, describe: Callable[[Results], str] | None = None) -> Results:
    """Build and run the spec (a bad one is one error line and the page stops), then show its results under
    every method; ``describe`` adds a line saying how the query was read."""
    try:
        spec = build()
        results = lab.run(spec)
    except SimLabError as exc:
        st.error(md_escape(exc))
        st.stop()
    for line in ([describe(results)] if describe else []) + results.notes:
        st.caption(md_escape(line))
    save_query_button(lab, spec, key=f"save-{key}")
    why = Explainer(lab, spec)
    relevant = likely_relevant(lab, results, key=f"{key}-cut")
    if relevant is not None:
        st.subheader(f"Likely relevant under {labels[results.main]}")
        gallery(relevant, lab.blobs, columns=6, key_prefix=f"{key}-cut", score_name="P(relevant)", why=why)
    method_columns(results, lab.blobs, labels, per_column=k, key=key, score_names=score_names, why=why)
    return results
