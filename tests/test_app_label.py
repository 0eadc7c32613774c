"""Label page: judge pooled results (durably, at the click), refine with Rocchio, see metrics, export."""
import pytest
from streamlit.testing.v1 import AppTest

from indexing.shapes.demo import demo_plan
from indexing.labels.label_store import LabelStore
from indexing.query.specs import Feedback, from_json
from indexing.lab import open_lab
from indexing.core.settings import load_settings
from tests.conftest import REPO

PAGE = str(REPO / "pages" / "6_Label.py")


@pytest.fixture
def saved(env, tiny_encoder):
    lab = open_lab(load_settings(), encoder=tiny_encoder)
    lab.ingest(demo_plan(20, seed=2))
    labels = LabelStore(lab.settings.data_dir)
    labels.save_query("red circles", from_json({"type": "text", "text": "a red circle", "kind": "image"}), qid="q-red")
    return labels


def metrics(at):
    """The metrics table over all queries (the judging card's own table of its query comes first)."""
    return next(d.value for d in at.dataframe if "judged queries" in d.value.columns)


def per_query_metrics(at):
    return next(d.value for d in at.dataframe if "query" in d.value.columns)


def test_no_saved_queries_says_how_to_make_one(env):
    at = AppTest.from_file(PAGE, default_timeout=300).run()
    assert not at.exception and "No saved queries" in at.info[0].value


def test_judge_five_then_metrics_and_export(saved):
    at = AppTest.from_file(PAGE, default_timeout=300).run()
    assert not at.exception
    at.text_input(key="label-annotator").input("ann").run()
    assert "0 / 10 judged" in at.get("progress")[0].proto.text
    for grade in (3, 0, 2, 1, 2):
        at.button(key=f"grade-{grade}").click().run()
        assert not at.exception
    judged = saved.judgments("q-red")
    assert len(judged) == 5 and {j.annotator for j in judged} == {"ann"}  # in SQLite at the click
    assert "5 / 10 judged" in at.get("progress")[0].proto.text
    table = metrics(at)
    assert (table.loc[0, "family"], table.loc[0, "method"]) == ("neighbours", "clip")
    assert table.loc[0, "unjudged in top 10"] == 5
    assert 0 < table.loc[0, "nDCG@10"] <= 1
    assert any(b.label == "qrels" for b in at.get("download_button"))


def test_skip_comes_back_last_and_blind_mode_hides_methods(saved):
    at = AppTest.from_file(PAGE, default_timeout=300).run()
    at.text_input(key="label-annotator").input("bob").run()
    first = at.main.text[0].value  # the card: the item name
    at.button(key="grade-skip").click().run()
    assert at.main.text[0].value != first
    assert not any("clip #" in c.value for c in at.caption)
    at.toggle(key="label-blind").set_value(False).run()
    assert any("clip #" in c.value for c in at.caption)


def test_rocchio_joins_the_pool(saved, tiny_encoder):
    image = next(r.id for r in open_lab(load_settings(), encoder=tiny_encoder).vectors()[0] if r.kind == "image")
    saved.judge("q-red", image, "ann", 3)
    at = AppTest.from_file(PAGE, default_timeout=300).run()
    at.button(key="rocchio-refine").click().run()
    assert not at.exception
    assert saved.query("q-red").spec.feedback == Feedback(alpha=1.0, beta=0.75, gamma=0.15)
    assert set(metrics(at)["method"]) == {"clip", "rocchio"}



def test_metrics_per_query_as_well_as_averaged(saved):
    saved.save_query("blue", from_json({"type": "text", "text": "a blue star", "kind": "image"}), qid="q-blue")
    at = AppTest.from_file(PAGE, default_timeout=300).run()
    at.text_input(key="label-annotator").input("ann").run()
    at.toggle(key="label-blind").set_value(False).run()  # unblinded: the first item is clip's top result
    at.button(key="grade-3").click().run()
    assert not at.exception
    averaged, per_query = metrics(at), per_query_metrics(at)
    assert list(averaged["method"]) == ["clip"] and averaged.loc[0, "judged queries"] == 1
    assert list(per_query["query"]) == ["q-red"] and per_query.loc[0, "MRR@10"] == 1.0


def test_saved_queries_rerun_only_when_their_inputs_change(saved, monkeypatch):
    from indexing.lab import Lab

    calls: list[str] = []
    real = Lab.run
    def counted(lab, spec, *a, **kw):  # the saved rankings (depth 100), not the one-result probes of other panels
        if kw.get("k") == 100:
            calls.append(spec.label)
        return real(lab, spec, *a, **kw)

    monkeypatch.setattr(Lab, "run", counted)
    at = AppTest.from_file(PAGE, default_timeout=300).run()
    at.text_input(key="label-annotator").input("ann").run()
    at.number_input(key="label-depth").set_value(5).run()
    at.button(key="grade-3").click().run()
    assert not at.exception and calls == ["a red circle"]  # widgets and plain judgments reuse the rankings
    at.button(key="rocchio-refine").click().run()
    assert calls == ["a red circle"] * 2  # the spec changed: feedback is on
    at.button(key="grade-0").click().run()
    assert calls == ["a red circle"] * 3  # with feedback, a new grade changes the Rocchio ranking
    assert set(metrics(at)["method"]) == {"clip", "rocchio"}


def test_unjudged_counts_only_judged_queries_and_one_spec_is_one_saved_query(saved):
    # A second saved query nobody judged must not add its unjudged items to the summary.
    again = saved.save_query("red circles again", from_json({"type": "text", "text": "a red circle", "kind": "image"}))
    assert again.qid == "q-red" and len(saved.queries()) == 1  # the same question saved twice is one entry
    saved.save_query("blue", from_json({"type": "text", "text": "a blue star", "kind": "image"}))
    at = AppTest.from_file(PAGE, default_timeout=300).run()
    at.text_input(key="label-annotator").input("ann").run()
    for grade in (3, 0, 2, 1):
        at.button(key=f"grade-{grade}").click().run()
    table = metrics(at)
    assert table.loc[0, "judged queries"] == 1 and table.loc[0, "unjudged in top 10"] == 6



def test_a_deleted_query_image_is_a_message_not_a_traceback(saved, tmp_path):
    from pathlib import Path

    from indexing.core.settings import load_settings

    data = load_settings().data_dir
    (data / "queries").mkdir(exist_ok=True)
    (data / "queries" / "gone.img").write_bytes(b"soon gone")
    saved.save_query("by image", from_json({"type": "image", "image_path": "queries/gone.img"}), qid="q-img")
    Path(data / "queries" / "gone.img").unlink()
    at = AppTest.from_file(PAGE, default_timeout=300).run()
    at.selectbox(key="label-query").select_index(1).run()
    assert not at.exception and "no longer under" in at.warning[0].value


def test_judgments_pay_off_cutoff_uncertain_first_and_an_adapter(env, monkeypatch):
    """From judgments made on this data: the Label page shows the cut-off's calibration, orders the pool by
    uncertainty, trains an adapter that Neighbours can use and that the metrics measure held out. The bundled
    model: with random weights the score says nothing and every probability is the base rate."""
    from indexing.query.specs import NeighboursQuery, Source

    monkeypatch.setenv("SIMLAB_MODEL", "simlab-shapes")
    monkeypatch.delenv("SIMLAB_PRETRAINED")
    lab = open_lab(load_settings())
    lab.ingest(demo_plan(80, seed=3))
    labels = LabelStore(lab.settings.data_dir)
    rows = []
    for shape in ("circle", "square", "triangle", "star", "hexagon", "cross"):
        saved = labels.save_query(shape, NeighboursQuery(Source(text=f"a {shape}"), kind="image"))
        rows += [(saved.qid, h.id, "sim", 2 if h.metadata.get("shape") == shape else 0)
                 for h in lab.run(saved.spec, k=15).hits()]
    labels.judge_many(rows)

    at = AppTest.from_file(PAGE, default_timeout=300).run()
    at.text_input(key="label-annotator").input("ann").run()
    assert not at.exception
    assert any("Expected calibration error" in c.value for c in at.caption)  # held out over 6 queries
    fitted = [c.value for c in at.caption if c.value.startswith("Fitted on ")]  # what it rests on, and when it refits
    assert len(fitted) == 1 and f"collection at {lab.store.count():,} items" in fitted[0], fitted
    assert len(at.get("plotly_chart")) == 1  # the reliability diagram
    assert "adapter held-out" not in set(metrics(at)["method"])  # only when asked: five trainings
    at.toggle(key="label-adapter-cv").set_value(True).run()
    rows = metrics(at)
    assert list(rows.loc[rows["method"] == "adapter held-out", "family"]) == ["neighbours"]
    at.toggle(key="label-uncertain").set_value(True).run()
    assert not at.exception
    at.button(key="adapter-train").click().run()
    assert not at.exception and any("Saved adapter my-relevance" in c.value.replace("\\", "") for c in at.caption), [c.value for c in at.caption]

    nb = AppTest.from_file(str(REPO / "pages" / "2_Neighbours.py"), default_timeout=300).run()
    nb.selectbox(key="adapter_choice").set_value("my-relevance").run()
    nb.text_input(key="query_text").input("a circle").run()
    assert not nb.exception and any("adapter my-relevance" in h.value for h in nb.subheader)
    nb.toggle(key="neighbours-cut-on").set_value(True).run()
    assert not nb.exception and "calibrated on the plain scores" in nb.info[0].value
    nb.selectbox(key="adapter_choice").set_value("(none)").run()
    nb.selectbox(key="kind_filter").set_value("image").run()  # as the saved queries it was calibrated on
    (count,) = [c.value for c in nb.caption if "items with P ≥ 0.50" in c.value]
    assert "calibrated on 90 judgments over 6 queries" in count
    shown = [c.value for c in nb.caption if "P(relevant)" in c.value]
    assert len(shown) == min(int(count.split()[0]), 200) > 0
    names = [t.value for t in nb.text if t.value.startswith("shape: ") or "shape: " in t.value]
    assert names and sum("shape: circle" in n for n in names) >= 0.8 * len(names)  # what passes is circles


def test_the_cutoff_says_what_it_still_needs(saved):
    nb = AppTest.from_file(str(REPO / "pages" / "2_Neighbours.py"), default_timeout=300).run()
    nb.text_input(key="query_text").input("a circle").run()
    nb.toggle(key="neighbours-cut-on").set_value(True).run()
    message = nb.info[0].value.replace("\\", "")
    assert not nb.exception and "(neighbours of any kind): Nothing judged yet: the cut-off needs 20" in message


def judging_as(at) -> list[str]:
    return [c.value.replace("\\", "") for c in at.caption if c.value.startswith("Judging as")]


def test_the_name_is_asked_once_and_kept_across_pages_and_reloads(saved):
    app = AppTest.from_file(str(REPO / "app.py"), default_timeout=300).run()
    app.switch_page("pages/6_Label.py").run()
    app.text_input(key="label-annotator").input("walker").run()
    assert judging_as(app) == ["Judging as walker"]
    assert not [t for t in app.text_input if t.key == "label-annotator"]  # no name box left to type a grade into
    assert app.query_params["annotator"] == ["walker"] or app.query_params["annotator"] == "walker"
    app.button(key="grade-1").click().run()
    app.switch_page("pages/2_Neighbours.py").run()
    app.text_input(key="query_text").input("a red circle").run()
    app.switch_page("pages/6_Label.py").run()  # back: still the same name, the card is there at once
    assert judging_as(app) == ["Judging as walker"] and app.button(key="grade-2")
    app.button(key="grade-2").click().run()
    assert {j.annotator for j in saved.judgments()} == {"walker"} and len(saved.judgments()) == 2

    reloaded = AppTest.from_file(PAGE, default_timeout=300)  # a reload: a new session, the name from the URL
    reloaded.query_params["annotator"] = "walker"
    reloaded.run()
    assert judging_as(reloaded) == ["Judging as walker"]
    reloaded.button(key="annotator-change").click().run()  # "change": the name box again, empty
    assert reloaded.text_input(key="label-annotator").value == "" and not judging_as(reloaded)


@pytest.mark.parametrize("name, message", [("   ", "annotator name is required"), ("x" * 101, "at most 100"),
                                           ("walker\x07", "control characters"), ("a\u2028b", "line breaks")])
def test_a_bad_name_is_refused_in_one_line_and_nothing_is_judged(saved, name, message):
    at = AppTest.from_file(PAGE, default_timeout=300).run()
    at.text_input(key="label-annotator").input(name).run()
    assert not at.exception and message in at.error[0].value and len(at.error) == 1
    assert not judging_as(at) and not [b for b in at.button if (b.key or "").startswith("grade-")]
    with pytest.raises(Exception, match=message):
        saved.judge("q-red", "img-x", name, 1)  # the engine refuses it too
    assert saved.judgments() == []


def test_no_grade_looks_chosen_before_one_is(saved):
    at = AppTest.from_file(PAGE, default_timeout=300).run()
    at.text_input(key="label-annotator").input("ann").run()
    kinds = {b.key: b.proto.type for b in at.button if (b.key or "").startswith("grade-")}
    assert len(kinds) == 5 and set(kinds.values()) == {"secondary"}, kinds


def test_the_numbers_are_current_after_each_judgment(saved):
    at = AppTest.from_file(PAGE, default_timeout=300).run()
    at.text_input(key="label-annotator").input("ann").run()
    at.number_input(key="label-depth").set_value(3).run()
    pool = int(at.get("progress")[0].proto.text.split("/ ")[1].split()[0])
    for n in range(1, pool + 1):
        at.button(key="grade-2").click().run()
        mine = next(d.value for d in at.dataframe if "judged queries" not in d.value.columns
                    and "query" not in d.value.columns)  # the judging card's own table of this query
        assert mine.loc[0, "unjudged in top 10"] == 10 - n  # this query's clip top 10, judged so far
    assert "Every pooled item is judged" in at.success[0].value
    assert metrics(at).loc[0, "unjudged in top 10"] == max(0, 10 - pool)  # the table over all queries too


def test_compose_and_condition_are_rows_of_their_own_and_a_lost_reference_is_skipped(saved, tiny_encoder):
    from indexing.query.specs import ComposeQuery, ConditionQuery, Source

    lab = open_lab(load_settings(), encoder=tiny_encoder)
    ref = next(r for r in lab.vectors()[0] if r.kind == "image")
    saved.save_query("bluer", ComposeQuery(Source(item=ref.id), "make it blue"), qid="q-compose")
    saved.save_query("by colour", ConditionQuery(Source(item=ref.id), "color"), qid="q-condition")
    saved.save_query("gone", ComposeQuery(Source(item="img-deleted"), "make it blue"), qid="q-gone")
    for qid in ("q-compose", "q-condition", "q-gone"):
        saved.judge(qid, ref.id, "ann", 1)
    at = AppTest.from_file(PAGE, default_timeout=300).run()
    assert not at.exception
    table = metrics(at)
    sums = table[table["method"] == "sum"]
    assert sorted(sums["family"]) == ["compose", "condition"] and list(sums["judged queries"]) == [1, 1]
    assert list(table["family"]) == sorted(table["family"])  # grouped by family
    skipped = [e for e in at.expander if "could not be run" in e.label]
    assert len(skipped) == 1 and skipped[0].label.startswith("1 saved query")
    assert any("q-gone" in t.value and "img-deleted" in t.value for t in at.text)


def test_corrupt_adapter_files_leave_label_and_neighbours_working_with_drop_in_reach(saved, tiny_encoder):
    from tests.test_hostile_files import corrupt_adapters

    lab = open_lab(load_settings(), encoder=tiny_encoder)
    folder = lab.settings.data_dir / "adapters" / lab.store.name
    folder.mkdir(parents=True)
    for name, (data, meta) in corrupt_adapters().items():
        (folder / f"{name}.npz").write_bytes(data)
        (folder / f"{name}.json").write_text(meta)
    at = AppTest.from_file(PAGE, default_timeout=300).run()
    assert not at.exception
    drops = [b for b in at.button if (b.key or "").startswith("adapter-drop-")]
    assert len(drops) == 10
    drops[0].click().run()
    assert not at.exception and len([b for b in at.button if (b.key or "").startswith("adapter-drop-")]) == 9
    nb = AppTest.from_file(str(REPO / "pages" / "2_Neighbours.py"), default_timeout=300).run()
    nb.text_input(key="query_text").input("a red circle").run()
    nb.selectbox(key="adapter_choice").set_value("nan").run()
    assert not nb.exception and "train it again or drop it" in nb.error[0].value
