"""Map: the collection as a UMAP map; colour it, select points, put a query on it, share the view."""
import streamlit as st

from components.cards import item_card
from components.gallery import gallery
from components.map_data import collection_clusters, collection_map, collection_vectors, start_umap_warmup
from components.map_figure import Overlay, colour_values, map_figure
from components.map_view import map_controls, selection_csv, selected_indices
from components.resources import cache_key
from components.save_query import save_query_button
from components.sidebar import sidebar
from components.state import MapKeys as K
from components.url_state import load_from_url, save_to_url
from indexing.projection import query_on_map
from indexing.search import Query, QueryError, query_vector

st.set_page_config(page_title="SimLab · Map", layout="wide")
lab = sidebar()
start_umap_warmup()  # numba compiles in the background while the page reads vectors
load_from_url(K.URL)
st.title("Map")

count = lab.store.count()
if count == 0:
    st.info("The index is empty for this model. Add items on the Ingest page (or load the demo world).")
    st.stop()
where = cache_key(lab)
records, vectors = collection_vectors(lab, where, count)
params = map_controls(records)
projection = collection_map(lab, where, count, params, st.session_state[K.REFIT])
clusters = collection_clusters(lab, where, count) if st.session_state[K.COLOUR] == "cluster" else None
st.caption(f"{len(projection):,} points · fitted in {projection.fit_seconds:.1f} s · "
           f"{int((~projection.fitted).sum()):,} placed from their neighbours (refit to include them in the fit)")

overlay = None
text, item = st.session_state[K.QUERY].strip(), st.session_state[K.ITEM].strip()
if text or item:
    try:
        q = Query(text=text) if text else Query(item=item)
        index = {r.id: i for i, r in enumerate(records)}
        coords, top, scores = query_on_map(query_vector(q, lab.encoder, lab.store), vectors, projection.coords,
                                           st.session_state[K.K], exclude=index.get(item) if item else None)
        overlay = Overlay(text or item, coords, top, scores)
    except QueryError as exc:
        st.error(str(exc))

ids = [r.id for r in records]
selected = ids.index(st.session_state[K.SELECTED]) if st.session_state[K.SELECTED] in ids else None
colours = colour_values(records, st.session_state[K.COLOUR], None if clusters is None else clusters.labels)
fig = map_figure(projection.coords, records, colours, overlay, selected)
left, right = st.columns([3, 2])
with left:
    event = st.plotly_chart(fig, key=K.CHART, on_select="rerun", selection_mode=("points", "box", "lasso"))
    st.download_button("Download map (HTML)", data=lambda: fig.to_html(include_plotlyjs=True),
                       file_name="simlab-map.html", mime="text/html", on_click="ignore")
picked = selected_indices(event)
if len(picked) == 1:
    st.session_state[K.SELECTED] = ids[picked[0]]
save_to_url(K.URL)

with right:
    if overlay:
        st.subheader(f"Top {len(overlay.neighbours)} for the query")
        save_query_button(lab, {"type": "text", "text": text} if text else {"type": "item", "item": item},
                          text or item, key="save-map")
        gallery([records[i] for i in overlay.neighbours], lab.blobs, columns=3, key_prefix="map-q")
    elif len(picked) > 1:
        st.subheader(f"{len(picked)} selected")
        st.download_button("Download selection (CSV)", selection_csv([records[i] for i in picked]),
                           file_name="simlab-selection.csv", mime="text/csv")
        gallery([records[i] for i in picked[:48]], lab.blobs, columns=3, key_prefix="map-sel")
    elif st.session_state[K.SELECTED] in ids:
        i = ids.index(st.session_state[K.SELECTED])
        item_card(records[i], lab.blobs, key_prefix="map-item")
        _, top, scores = query_on_map(vectors[i], vectors, projection.coords, 6, exclude=i)
        st.caption("Nearest neighbours")
        gallery([records[j] for j in top], lab.blobs, columns=3, key_prefix="map-nb")
    else:
        st.caption("Click a point, or box/lasso-select a group, or put a query on the map.")

if clusters is not None:
    st.subheader("Clusters")
    for c, (size, reps) in enumerate(zip(clusters.sizes, clusters.representatives)):
        with st.expander(f"cluster {c} · {size} items"):
            gallery([records[i] for i in reps], lab.blobs, columns=4, key_prefix=f"cl{c}")
