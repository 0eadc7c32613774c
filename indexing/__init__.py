"""SimLab's engine: media, encoder, store, queries and the command line. Never imports Streamlit."""
