"""The ingest pipeline with a real (tiny) open_clip model and a real embedded Chroma."""
import io
import zipfile

import numpy as np

from indexing.lab import open_lab
from indexing.core.settings import load_settings
from indexing.ingest.sources import plan_paths, plan_uploads
from tests.conftest import image_bytes


def uploads():
    return [("red.png", image_bytes((255, 0, 0))), ("blue.jpg", image_bytes((0, 0, 255), fmt="JPEG")),
            ("notes.txt", b"a red square\n\nthe sea\n"), ("items.csv", b"text,colour\na green leaf,green\n")]


def test_ingest_adds_everything_and_reports_counts(lab):
    summary = lab.ingest(plan_uploads(uploads())).as_dict()
    added = summary.pop("added_sources")
    assert summary == {"added": 5, "skipped": 0, "repeated": 0, "failed": 0, "blank": 1, "truncated": 0, "errors": [],
                       "duplicates": [], "notes": []}
    assert sorted(added) == ["blue.jpg", "items.csv:2", "notes.txt:1", "notes.txt:3", "red.png"]
    assert lab.store.count() == 5 and lab.store.count_kind("image") == 2 and lab.store.count_kind("text") == 3
    leaf = [r for r in lab.store.get([h.id for h in lab.store.query(lab.encoder.encode_texts(["x"])[0], 10)])
            if r.text == "a green leaf"]
    assert leaf[0].metadata == {"colour": "green"}


def test_reingest_is_idempotent_and_duplicates_in_one_batch_count_once(lab):
    lab.ingest(plan_uploads(uploads()))
    again = lab.ingest(plan_uploads(uploads() + [("copy-of-red.png", image_bytes((255, 0, 0)))]))
    assert again.added == 0 and again.skipped == 6 and lab.store.count() == 5
    assert again.repeated == 0  # the copy's content (red.png's) is stored already, like the other five
    fresh = lab.ingest(plan_uploads([("green.png", image_bytes((0, 255, 0))), ("again.png", image_bytes((0, 255, 0)))]))
    assert (fresh.added, fresh.skipped, fresh.repeated, fresh.duplicates) == (1, 1, 1, ["again.png"])
    assert len(again.duplicates) == 6 and any("copy-of-red.png" in d for d in again.duplicates)  # named, not only counted


def test_bad_items_fail_alone_and_stored_items_are_untouched(lab):
    lab.ingest(plan_uploads(uploads()[:1]))
    before = lab.store.get([r.id for r in lab.store.query(lab.encoder.encode_texts(["x"])[0], 10)],
                           with_vectors=True)
    summary = lab.ingest(plan_uploads([("zero.jpg", b""), ("page.png", b"<html>x</html>"),
                                       ("ok.txt", b"fine"), ("no-text.csv", b"a,b\n1,2\n"),
                                       ("weird.exe", b"MZ")]))
    assert summary.added == 1 and summary.failed == 4
    sources = {e.source: e.reason for e in summary.errors}
    assert set(sources) == {"zero.jpg", "page.png", "no-text.csv", "weird.exe"}
    assert all("\n" not in r for r in sources.values())
    after = lab.store.get([r.id for r in before], with_vectors=True)
    assert [(a.id, a.name) for a in after] == [(b.id, b.name) for b in before]
    assert np.allclose(after[0].embedding, before[0].embedding)


def test_long_text_is_truncated_and_said(lab):
    long_text = "word " * 200
    summary = lab.ingest(plan_uploads([("long.txt", long_text.encode())]))
    assert summary.added == 1 and summary.truncated == 1
    (record,) = lab.store.get([h.id for h in lab.store.query(lab.encoder.encode_texts(["w"])[0], 1)])
    assert record.truncated and record.text == long_text.strip()


def test_thumbnails_and_originals_are_stored(lab):
    lab.ingest(plan_uploads(uploads()[:1]))
    (hit,) = lab.store.query(lab.encoder.encode_texts(["x"])[0], 1)
    assert lab.blobs.thumb_path(hit.id).stat().st_size > 0
    assert lab.blobs.original_path(hit.id).read_bytes() == image_bytes((255, 0, 0))


def test_folders_recursive_and_zips_from_disk(lab, tmp_path):
    root = tmp_path / "in"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "a.png").write_bytes(image_bytes((1, 2, 3)))
    (root / ".hidden.png").write_bytes(image_bytes((9, 9, 9)))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("b.txt", "zipped text")
    (root / "c.zip").write_bytes(buf.getvalue())
    summary = lab.ingest(plan_paths([root, tmp_path / "missing"]))
    assert summary.added == 2 and summary.failed == 1 and "no such file" in summary.errors[0].reason


def test_everything_survives_a_restart(env, tiny_encoder):
    first = open_lab(load_settings(), encoder=tiny_encoder)
    first.ingest(plan_uploads(uploads()))
    del first
    second = open_lab(load_settings(), encoder=tiny_encoder)
    assert second.store.count() == 5
    hits = second.store.query(tiny_encoder.encode_texts(["anything"])[0], 5, kind="image")
    assert all(second.blobs.thumb_path(h.id).exists() for h in hits) and len(hits) == 2


def test_progress_reports_done_over_total(lab):
    seen = []
    lab.ingest(plan_uploads(uploads()), progress=lambda d, t: seen.append((d, t)))
    assert seen[0] == (0, 5) and seen[-1] == (5, 5)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_a_second_writer_is_refused_at_once(lab):
    import pytest

    from indexing.store.write_lock import StoreBusy, write_lock

    with write_lock(lab.settings.data_dir):
        with pytest.raises(StoreBusy, match="already writing"):
            lab.ingest(plan_uploads(uploads()))
    assert lab.store.count() == 0
    assert lab.ingest(plan_uploads(uploads())).added == 5  # free again afterwards


def test_several_decode_workers_store_the_same_items_in_plan_order(env, tiny_encoder, tmp_path):
    from indexing.store.blobs import Blobs
    from indexing.ingest.pipeline import Ingestor
    from indexing.store.chroma import Store, open_client

    plan = uploads() + [(f"shade-{i}.png", image_bytes((i * 20, 100, 50))) for i in range(12)]
    plan += [("copy-of-red.png", image_bytes((255, 0, 0))), ("broken.jpg", b"\xff\xd8 not a jpeg")]
    results = []
    for workers in (1, 4):
        client = open_client(load_settings({"SIMLAB_DATA": str(tmp_path / f"w{workers}")}))
        store = Store(client, tiny_encoder.spec.key, tiny_encoder.spec.label, tiny_encoder.dim)
        summary = Ingestor(tiny_encoder, store, Blobs(tmp_path / f"w{workers}"), batch_size=3,
                           decode_workers=workers).run(plan_uploads(plan))
        records, vectors = store.all()
        results.append((summary.as_dict(), sorted(r.id for r in records), {r.id: v for r, v in zip(records, vectors)}))
    (one, ids_one, vec_one), (four, ids_four, vec_four) = results
    assert one == four and one["added"] == 17 and one["skipped"] == 1 and one["failed"] == 1
    assert ids_one == ids_four
    assert all(np.allclose(vec_one[i], vec_four[i], atol=1e-5) for i in ids_one)


def test_the_plans_first_copy_is_kept_when_a_later_copy_is_read_first(env, tiny_encoder, tmp_path):
    import time

    from indexing.store.blobs import Blobs
    from indexing.ingest.pipeline import Ingestor
    from indexing.ingest.sources import PendingImage, Plan
    from indexing.store.chroma import Store, open_client

    data = image_bytes((10, 200, 30))

    def slow() -> bytes:
        time.sleep(0.5)  # the first copy is still being read when the second copy's batch is ready
        return data

    plan = Plan(items=[PendingImage("first.png", "first.png", slow), PendingImage("second.png", "second.png",
                                                                                   lambda: data)])
    store = Store(open_client(load_settings({"SIMLAB_DATA": str(tmp_path / "d")})), tiny_encoder.spec.key,
                  tiny_encoder.spec.label, tiny_encoder.dim)
    summary = Ingestor(tiny_encoder, store, Blobs(tmp_path / "d"), batch_size=1, decode_workers=4).run(plan)
    assert summary.added == 1 and summary.duplicates == ["second.png"]
    assert [r.name for r in store.all()[0]] == ["first.png"]


def test_an_ingest_says_where_its_time_went(lab):
    from indexing.ingest.pipeline import STAGES

    summary = lab.ingest(plan_uploads(uploads()))
    seconds = summary.stages.as_dict()
    assert list(seconds) == list(STAGES) and all(v >= 0 for v in seconds.values())
    assert all(seconds[s] > 0 for s in ("read_hash", "decode", "thumbnail", "preprocess", "encode", "store"))
    assert "stages" not in summary.as_dict()  # the command line's summary is unchanged
