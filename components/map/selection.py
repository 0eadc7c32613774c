"""What is selected on the map after this rerun: a click, a box or lasso, one kept across a new layout, or a
link's; the session keys that remember it are updated here, in one place."""
from __future__ import annotations

import streamlit as st

from components.map.view import region_from_event, selected_indices, settled_region
from components.state import MapKeys as K
from indexing.maps.projection import Projection


def chart_selection(projection: Projection, ids: list[str]) -> list[int]:
    """Indices of the points selected now (empty for none); a note when a kept box was redrawn or dropped."""
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
    return picked
