"""SimLab's entry point: the pages and their names in the navigation (`streamlit run app.py`)."""
import streamlit as st

PAGES = [
    st.Page("pages/0_Home.py", title="Home", icon=":material/home:", default=True),
    st.Page("pages/1_Ingest.py", title="Ingest", icon=":material/upload:", url_path="Ingest"),
    st.Page("pages/2_Neighbours.py", title="Neighbours", icon=":material/search:", url_path="Neighbours"),
    st.Page("pages/3_Map.py", title="Map", icon=":material/scatter_plot:", url_path="Map"),
    st.Page("pages/4_Compose.py", title="Compose", icon=":material/add_photo_alternate:", url_path="Compose"),
    st.Page("pages/5_Condition.py", title="Condition", icon=":material/tune:", url_path="Condition"),
    st.Page("pages/6_Label.py", title="Label", icon=":material/fact_check:", url_path="Label"),
    st.Page("pages/7_Model_check.py", title="Model check", icon=":material/psychology:", url_path="Model_check"),
]

st.navigation(PAGES).run()
