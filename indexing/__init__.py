"""SimLab's engine, in rooms that import only downward: core → model → store → ingest → shapes → query → maps →
labels → evaluation, with ``lab`` (the façade pages use) and ``cli`` (``python -m indexing``) on top.
Never imports Streamlit."""
