"""Map colours: colour names drawn in their colour, one stable palette otherwise, bands in order."""
import json

import numpy as np

from components.map.figure import map_figure, similarity_percentile
from components.map.palette import PALETTE, colouring, css_colour
from indexing.store.chroma import Record


def records(values: list[str]) -> list[Record]:
    return [Record(f"id{i}", "image", f"n{i}", None, {"color": v}) for i, v in enumerate(values)]


def html_traces(html: str) -> list[dict]:
    """The traces an exported plotly HTML file draws (the first argument after the div id)."""
    rest = html.split("Plotly.newPlot(", 1)[1].split(",", 1)[1].lstrip()
    return json.JSONDecoder().raw_decode(rest)[0]


def test_colour_names_are_drawn_in_their_own_colour():
    values = ["red", "green", "white", "blue", "(none)"]
    scheme = colouring(values)
    assert scheme.colours["red"] == "rgb(255,0,0)" and scheme.colours["green"] == "rgb(0,128,0)"
    assert scheme.colours["white"] == "rgb(255,255,255)" and scheme.outline  # white needs an edge to be seen
    assert scheme.order[-1] == "(none)"
    fig = map_figure(np.zeros((5, 2), np.float32), records(values), values)
    drawn = {t.name: t.marker.color for t in fig.data}
    assert drawn["red"] == "rgb(255,0,0)" and drawn["blue"] == "rgb(0,0,255)"


def test_other_fields_use_one_palette_in_sorted_order_whatever_the_counts():
    a = colouring(["square", "circle", "circle", "star"])
    b = colouring(["star", "square", "circle"])
    assert a.colours == b.colours and a.colours["circle"] == PALETTE[0] and not a.outline
    assert css_colour("square") is None and css_colour("Light Blue") == "rgb(173,216,230)"
    assert css_colour("#fff") is None and css_colour("123") is None


def test_exported_html_carries_every_colour():
    values = ["red", "green", "blue"]
    html = map_figure(np.random.default_rng(0).normal(size=(3, 2)).astype(np.float32), records(values),
                      values).to_html(include_plotlyjs=False)
    spec = html_traces(html)
    assert {t["name"]: t["marker"]["color"] for t in spec} == {"blue": "rgb(0,0,255)", "green": "rgb(0,128,0)",
                                                              "red": "rgb(255,0,0)"}


def test_conditional_similarity_is_one_sequential_scale_at_full_opacity_with_a_colour_bar():
    import numpy as np

    from indexing.store.chroma import Record

    values = similarity_percentile(range(1, 101))  # 1-based ranks in a collection of 100
    assert values[0] == 100 and values[-1] == 0 and list(values) == sorted(values, reverse=True)
    records = [Record(f"i{i}", "image", f"n{i}", None, {}) for i in range(100)]
    fig = map_figure(np.random.default_rng(0).normal(size=(100, 2)), records, ["image"] * 100, values=values,
                     value_title="similarity percentile")
    (trace,) = [t for t in fig.data if t.marker.showscale]
    assert trace.marker.opacity == 1.0 and trace.marker.colorscale and len(trace.marker.color) == 100
    assert trace.marker.colorbar.title.text == "similarity percentile"
    assert fig.layout.legend.orientation == "h"  # the legend under the plot: the colour bar has the right side

def test_a_click_selects_and_the_toolbar_keeps_off_the_legend():
    fig = map_figure(np.zeros((2, 2), np.float32), records(["red", "blue"]), ["red", "blue"])
    # With lasso or box as the default drag, Streamlit turns click-selection off: a click did nothing.
    assert fig.layout.clickmode == "event+select" and fig.layout.dragmode == "pan"
    assert fig.layout.margin.t >= 30
