"""Zip uploads: unsafe paths, links, bombs and nested archives are refused; the rest is read."""
import io
import stat
import zipfile

from indexing.ingest import archive
from indexing.ingest.sources import PendingImage, PendingText, plan_bytes
from tests.conftest import image_bytes


def make_zip(entries: list[tuple[str | zipfile.ZipInfo, bytes]], compression=zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as z:
        for name, data in entries:
            z.writestr(name, data)
    return out.getvalue()


def reasons(plan) -> dict[str, str]:
    return {f.source.split("/", 1)[1]: f.reason for f in plan.failures}


def test_good_members_are_planned():
    data = make_zip([("pics/a.png", image_bytes()), ("notes.txt", b"one\ntwo\n"), ("__MACOSX/._a.png", b"x")])
    plan = plan_bytes("upload.zip", data)
    assert [type(i) for i in plan.items] == [PendingImage, PendingText, PendingText]
    assert plan.items[0].load() == image_bytes()
    assert not plan.failures


def test_traversal_absolute_and_symlink_members_are_refused(tmp_path):
    link = zipfile.ZipInfo("link.png")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    data = make_zip([("../evil.png", image_bytes()), ("/etc/evil.txt", b"x"), (link, b"/etc/passwd"),
                     ("ok.txt", b"fine")])
    plan = plan_bytes("upload.zip", data)
    r = reasons(plan)
    assert "escapes" in r["../evil.png"] and "absolute" in r["/etc/evil.txt"] and "symbolic link" in r["link.png"]
    assert [i.text for i in plan.items] == ["fine"]
    assert not list(tmp_path.iterdir())  # nothing is ever extracted to disk


def test_nested_zip_is_not_recursed():
    inner = make_zip([("a.txt", b"hidden")])
    plan = plan_bytes("outer.zip", make_zip([("inner.zip", inner)]))
    assert "nested archive" in reasons(plan)["inner.zip"] and not plan.items


def test_high_ratio_member_is_refused_as_bomb():
    plan = plan_bytes("bomb.zip", make_zip([("zeros.txt", b"\0" * (20 * 1024 * 1024))]))
    assert "zip bomb" in reasons(plan)["zeros.txt"]


def test_total_uncompressed_bytes_are_capped(monkeypatch):
    monkeypatch.setattr(archive, "MAX_TOTAL_BYTES", 5000)
    rows = [(f"t{i}.txt", (f"line {i} " * 300).encode()) for i in range(4)]  # ~2.4 KB each
    plan = plan_bytes("big.zip", make_zip(rows, zipfile.ZIP_STORED))
    assert any("beyond" in f.reason for f in plan.failures)
    assert len(plan.items) == 2


def test_entry_count_is_capped(monkeypatch):
    monkeypatch.setattr(archive, "MAX_ENTRIES", 3)
    plan = plan_bytes("many.zip", make_zip([(f"{i}.txt", b"x") for i in range(5)]))
    assert not plan.items and "5 entries" in plan.failures[0].reason


def test_not_a_zip():
    plan = plan_bytes("fake.zip", b"PK but not really")
    assert "not a readable zip" in plan.failures[0].reason
