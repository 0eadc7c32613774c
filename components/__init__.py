"""Reusable Streamlit pieces: state keys, cached resources, sidebar, gallery, item cards."""
