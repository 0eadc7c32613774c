"""The panel beside the map: the query's top results, the selected group, or one item and its neighbours;
and the list of regions (or clusters) below the map, each as a gallery."""
from __future__ import annotations

import streamlit as st

from components.cards import item_card
from components.gallery import gallery
from components.map.view import selection_csv
from components.query.save import save_query_button
from components.safe_text import md_escape
from components.state import MapKeys as K
from components.why import Explainer
from indexing.lab import Lab
from indexing.maps.clusters import Clusters
from indexing.query.runner import Results
from indexing.query.specs import NeighboursQuery, Source


def selection_details(lab: Lab, results: Results | None, picked: list[int], linked: list[int],
                      names: list[str] | None, clusters: Clusters | None, comparing: bool) -> None:
    """What the panel shows, first that applies: a query's results, a selection, a clicked item, a hint."""
    records, vectors = lab.vectors()
    ids = [r.id for r in records]
    columns = 4 if comparing else 2
    if results:
        hits = results.hits()
        st.subheader(f"Top {len(hits)} for the query")
        save_query_button(lab, results.spec, key="save-map")
        gallery(hits, lab.blobs, columns=columns, key_prefix="map-q", why=Explainer(lab, results.spec))
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


def region_list(lab: Lab, clusters: Clusters, names: list[str] | None) -> None:
    """Each region (named) or cluster as an expander with its representatives."""
    records, vectors = lab.vectors()
    st.subheader("Regions" if names else "Clusters")
    for c, (size, reps) in enumerate(zip(clusters.sizes, clusters.representatives)):
        with st.expander(md_escape(f"{c}: {names[c]} · {size} items" if names else f"cluster {c} · {size} items")):
            gallery([records[i] for i in reps], lab.blobs, columns=4, key_prefix=f"cl{c}",
                    why=Explainer.shared(lab, vectors[clusters.labels == c], f"what cluster {c} shares"))
