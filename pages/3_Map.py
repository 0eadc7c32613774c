"""Map: the collection as a UMAP map; colour it, select points, put a query on it, share the view."""
import streamlit as st

from components.cards import item_card
from components.gallery import gallery
from components.map.data import collection_clusters, collection_map, region_names
from components.map.figure import LABELLED_UP_TO, Regions, colour_values, map_figure
from components.map.images import ALL_THUMBNAILS_UP_TO, add_pictures, picture_points, picture_size, rings_above
from components.map.overlay import overlay_of
from components.map.status import map_status
from components.map.model_compare import comparison, other_map, selected_there
from components.map.view import (map_controls, region_from_event, region_shape, selected_indices, selection_csv,
                                 settled_region)
from components.safe_text import md_escape
from components.map.region_names import region_vocabulary_editor
from components.resources import cache_key
from components.query.save import save_query_button
from components.sidebar import sidebar
from components.state import MapKeys as K
from components.url_state import load_from_url, save_to_url
from components.why import Explainer
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
# The chart's selection as the browser last sent it, read before the figure is drawn again, so the ring
# marks the point just clicked.
chart_state = st.session_state.get(K.CHART)
picked, region = selected_indices(chart_state, projection.coords), region_from_event(chart_state)
layout = f"{projection.method}|{projection.params}|{len(projection)}|{projection.fit_seconds}"
fresh = bool(region) and region != st.session_state.get(K.REGION_EVENT)  # drawn just now, on this layout
if region:
    st.session_state[K.REGION_EVENT] = region
query_now = (st.session_state[K.QUERY].strip(), st.session_state[K.ITEM].strip())
if query_now != st.session_state.get(K.LAST_QUERY, ("", "")):  # a new query replaces any earlier highlight
    st.session_state[K.LAST_QUERY] = query_now
    if any(query_now):
        st.session_state[K.SELECTED] = ""
if picked or region:  # the user clicked or selected in this session: that wins over the link
    st.session_state[K.HAD_SELECTION] = True
    if fresh or not region:  # the chart repeats its last box on every rerun: the kept one may be redrawn
        st.session_state[K.REGION] = region
    if len(picked) == 1 and not region:
        st.session_state[K.SELECTED] = ids[picked[0]]
    elif region and fresh:
        st.session_state[K.SELECTED] = ""  # a new box or lasso replaces the clicked item's ring
elif st.session_state[K.HAD_SELECTION] and st.session_state.get(K.REGION_LAYOUT, layout) != layout:
    # a new layout reset the chart's own selection: the user did not clear it, so its items are kept
    index = {item: i for i, item in enumerate(ids)}
    picked = [index[item] for item in st.session_state.get(K.REGION_IDS, []) if item in index]
elif st.session_state[K.HAD_SELECTION]:  # the user cleared the selection
    st.session_state[K.REGION], st.session_state[K.HAD_SELECTION] = "", False
kept, picked, region_note = settled_region(st.session_state[K.REGION], picked, fresh,
                                           st.session_state.get(K.REGION_LAYOUT, layout), layout, projection.coords)
st.session_state[K.REGION] = kept
st.session_state[K.REGION_LAYOUT] = layout
st.session_state[K.REGION_IDS] = [ids[i] for i in picked] if kept else []
if region_note:
    st.caption(region_note)
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
    columns = 4 if comparing else 2
    if results:
        st.subheader(f"Top {len(overlay.neighbours)} for the query")
        save_query_button(lab, results.spec, key="save-map")
        gallery(results.hits(), lab.blobs, columns=columns, key_prefix="map-q", why=Explainer(lab, results.spec))
    elif len(picked) > 1 or (picked and picked is linked):
        st.subheader(f"{len(picked):,} selected" + (" on the other model's map" if picked is linked else ""))
        st.download_button("Download selection (CSV)", on_click="ignore", file_name="simlab-selection.csv",
                           mime="text/csv", data=lambda: selection_csv(
                               [records[i] for i in picked], [names[clusters.labels[i]] for i in picked] if names
                               else None))
        gallery([records[i] for i in picked[:48]], lab.blobs, columns=columns, key_prefix="map-sel",
                why=Explainer.shared(lab, vectors[picked], "what the selected items share"))
    elif st.session_state[K.SELECTED] in ids:
        i = ids.index(st.session_state[K.SELECTED])
        st.subheader("Selected item")
        item, near = st.columns([1, 3]) if comparing else (st.container(), st.container())  # full width: one card in four
        with item:
            item_card(records[i], lab.blobs, key_prefix="map-item")
        with near:
            st.caption("Nearest neighbours")
            neighbours = NeighboursQuery(Source(item=ids[i]), k=6)
            gallery(lab.run(neighbours).hits(), lab.blobs, columns=3 if comparing else columns, key_prefix="map-nb",
                    why=Explainer(lab, neighbours))
    else:
        st.caption("Click a point to see it and its neighbours, box/lasso-select a group (toolbar, top right), "
                   "or put a query on the map.")

if named:
    region_vocabulary_editor(lab)
if clusters is not None:
    st.subheader("Regions" if names else "Clusters")
    for c, (size, reps) in enumerate(zip(clusters.sizes, clusters.representatives)):
        with st.expander(md_escape(f"{c}: {names[c]} · {size} items" if names else f"cluster {c} · {size} items")):
            gallery([records[i] for i in reps], lab.blobs, columns=4, key_prefix=f"cl{c}",
                    why=Explainer.shared(lab, vectors[clusters.labels == c], f"what cluster {c} shares"))
