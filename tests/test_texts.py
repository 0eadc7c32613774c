"""Text files: lines, CSV with a text column (any common encoding), JSONL; bad rows reported by line."""
import pytest

from indexing.ingest.media import MediaError
from indexing.ingest.texts import read_text_file


def test_txt_one_item_per_non_empty_line_and_blanks_counted():
    parsed = read_text_file("notes.txt", b"first\n\n   \nsecond\r\n\t\nthird")
    assert [r.text for r in parsed.records] == ["first", "second", "third"]
    assert [r.line for r in parsed.records] == [1, 4, 6]
    assert parsed.blank == 3


def test_csv_keeps_other_columns_as_metadata():
    parsed = read_text_file("items.csv", b"id,text,colour\n1,a red car,red\n2,,blue\n3,a blue bus,\n")
    assert [(r.text, r.metadata) for r in parsed.records] == [
        ("a red car", {"id": "1", "colour": "red"}), ("a blue bus", {"id": "3"})]
    assert parsed.blank == 1


def test_csv_without_text_column_is_a_clear_error():
    with pytest.raises(MediaError, match="no 'text' column.*'caption'"):
        read_text_file("items.csv", b"caption,colour\nhello,red\n")


def test_csv_in_latin1_and_with_bom():
    latin = "text,city\ncafé au lait,Zürich\n".encode("latin-1")
    assert read_text_file("a.csv", latin).records[0].text == "café au lait"
    bom = "\ufefftext,city\nnaïve,Köln\n".encode("utf-8")
    parsed = read_text_file("b.csv", bom)
    assert parsed.records[0].text == "naïve" and parsed.records[0].metadata == {"city": "Köln"}


def test_jsonl_bad_lines_reported_good_lines_kept():
    data = b'{"text": "one", "tag": 3}\nnot json\n{"txt": "no field"}\n\n{"text": "two"}\n'
    parsed = read_text_file("a.jsonl", data)
    assert [r.text for r in parsed.records] == ["one", "two"]
    assert parsed.records[0].metadata == {"tag": "3"}
    assert [line for line, _ in parsed.errors] == [2, 3]
    assert parsed.blank == 1


def test_binary_content_in_text_file_is_refused():
    with pytest.raises(MediaError, match="binary"):
        read_text_file("a.txt", b"\x00\x01\x02abc")
