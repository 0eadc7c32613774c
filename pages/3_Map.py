"""Map: the collection as a UMAP map; colour it, select points, put a query on it, share the view."""
import streamlit as st

from components.map.data import collection_clusters, collection_map, region_names
from components.map.figure import LABELLED_UP_TO, Regions, colour_values, map_figure
from components.map.images import ALL_THUMBNAILS_UP_TO, add_pictures, picture_points, picture_size, rings_above
from components.map.overlay import overlay_of
from components.map.status import map_status
from components.map.model_compare import comparison, other_map, selected_there
from components.map.selection import chart_selection
from components.map.details import region_list, selection_details
from components.map.view import map_controls, region_shape
from components.safe_text import md_escape
from components.map.region_names import region_vocabulary_editor
from components.resources import cache_key
from components.sidebar import sidebar
from components.state import MapKeys as K
from components.url_state import load_from_url, save_to_url
from indexing.core.errors import SimLabError
from indexing.query.specs import NeighboursQuery, Source

st.set_page_config(page_title="SimLab · Map", layout="wide")
lab = sidebar()
url_notes = load_from_url(K.URL)
st.title("Map")
for note in url_notes:
    st.caption(md_escape(note))

records, vectors = lab.vectors()
if not records:
    st.info("The index is empty for this model. Add items on the Ingest page (or load the demo world).")
    st.stop()
params = map_controls(records)
projection, fit_state = collection_map(lab, params, st.session_state[K.REFIT])
map_status(lab, projection, fit_state)
named, pictures = st.session_state[K.NAMES], st.session_state[K.IMAGES]
few = sum(r.kind == "image" for r in records) <= ALL_THUMBNAILS_UP_TO
clusters = (collection_clusters(lab, cache_key(lab), lab.version())
            if named or (pictures and not few) or st.session_state[K.COLOUR] == "cluster" else None)
named_regions = region_names(lab, clusters) if named and clusters is not None else None
names = [n.label for n in named_regions] if named_regions is not None else None

overlay = results = None
text, item = st.session_state[K.QUERY].strip(), st.session_state[K.ITEM].strip()
if text or item:
    try:
        results = lab.run(NeighboursQuery(Source(text=text) if text else Source(item=item), st.session_state[K.K]))
        overlay = overlay_of(results, projection, text or item)
    except SimLabError as exc:
        st.error(md_escape(exc))

ids = [r.id for r in records]
comparing = st.session_state[K.COMPARE]
if comparing:  # the two maps side by side, what is selected below them
    left, right = st.columns(2)
    details = st.container()
    with right:
        comp = comparison(lab)
else:
    left, details = st.columns([2, 1])  # the map takes two thirds of the page, the panel beside it the rest
    comp = None
picked = chart_selection(projection, ids)
linked = selected_there(comp) if comp is not None else []
selected = ids.index(st.session_state[K.SELECTED]) if st.session_state[K.SELECTED] in ids else None
colours = colour_values(records, st.session_state[K.COLOUR], None if clusters is None else clusters.labels, names)
regions = None if clusters is None else Regions.of(projection.coords, clusters.labels,
                                                   names or [""] * len(clusters.sizes))
if regions is not None and pictures and not few and projection.coords.shape[1] == 2:
    regions.picture = picture_size(regions.centres, exemplars=True)  # names and pictures placed together
fig = map_figure(projection.coords, records, colours, overlay, selected,
                 selection_shape=region_shape(st.session_state[K.REGION]), regions=regions if names else None,
                 linked=linked, legend_below=comparing)
drawn, exemplars = 0, not few
if pictures:
    written = regions.readable(projection.coords) if names and regions is not None else None
    picks, at, exemplars = picture_points(records, projection.coords, clusters,
                                          None if regions is None else regions.centres, written,
                                          [n.exemplar for n in named_regions] if named_regions else None)
    drawn = add_pictures(fig, records, lab.blobs, picks, at, exemplars)
    if drawn:
        rings_above(fig, projection.coords, ([selected] if selected is not None else []) + linked)
with left:
    st.plotly_chart(fig, key=K.CHART, on_select="rerun", selection_mode=("points", "box", "lasso"))
    if len(records) > LABELLED_UP_TO:
        st.caption(f"{len(records):,} points: above {LABELLED_UP_TO:,} they are drawn without hover labels "
                   "(the page would send tens of megabytes); click a point to see it, or select a region.")
    if drawn:
        what = ("an exemplar per named region, above its name" if exemplars and names else
                "an exemplar per region" if exemplars else "every image")
        st.caption(f"Pictures: {what} ({drawn:,}); they grow as you zoom in.")
    st.download_button("Download map (HTML)", data=lambda: fig.to_html(include_plotlyjs=True),
                       file_name="simlab-map.html", mime="text/html", on_click="ignore")
if comp is not None:
    with right:
        other_map(comp, picked)
if linked and not picked:
    picked = linked  # selected on the other model's map: shown here as this map's selection

save_to_url(K.URL)

with details:
    selection_details(lab, results, picked, linked, names, clusters, comparing)

if named:
    region_vocabulary_editor(lab)
if clusters is not None:
    region_list(lab, clusters, names)
