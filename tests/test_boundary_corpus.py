"""The malformed-boundary corpus: every file gives a clean BoundaryError with the exact code (and line for TXT)."""

import tomllib
from pathlib import Path

import pytest

from gis.boundary import BoundaryError, BoundaryIssue, read_boundary, read_boundary_bytes

BAD = Path(__file__).resolve().parent / "data" / "bad_boundaries"
EXPECTED = tomllib.loads((BAD / "expected.toml").read_text("utf-8"))


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_malformed_file_gives_the_exact_error(name):
    expected = EXPECTED[name]
    with pytest.raises(BoundaryError) as info:
        read_boundary(BAD / name)
    errors = [i for i in info.value.issues if i.severity == "error"]
    assert errors, name
    first = errors[0]
    assert first.code == expected["code"], str(first)
    assert first.line == expected.get("line"), str(first)
    assert first.message_zh and first.message_en and first.message_zh != first.message_en
    assert str(info.value)  # readable


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_upload_of_a_malformed_file_gives_the_same_error(name):
    with pytest.raises(BoundaryError) as info:
        read_boundary_bytes((BAD / name).read_bytes(), name)
    assert info.value.codes[0] == EXPECTED[name]["code"]


def test_corpus_is_big_and_every_file_is_listed():
    assert len(EXPECTED) >= 30
    on_disk = {p.name for p in BAD.iterdir() if p.name not in ("expected.toml", "make_corpus.py")}
    assert on_disk == set(EXPECTED)


def test_issue_reads_line_chinese_slash_english():
    issue = BoundaryIssue("ring_not_closed", "error", "第1圈未闭合", "ring 1 is not closed", line=11)
    assert str(issue) == "line 11: 第1圈未闭合 / ring 1 is not closed"
    assert str(BoundaryIssue("empty_file", "error", "文件为空", "the file is empty")) == "文件为空 / the file is empty"
    err = BoundaryError([issue])
    assert isinstance(err, ValueError) and str(err) == str(issue) and err.codes == ["ring_not_closed"]


def test_self_intersection_names_the_crossing_point_and_edges():
    with pytest.raises(BoundaryError) as info:
        read_boundary(BAD / "28_crossing_later_edge.txt")
    issue = info.value.issues[0]
    # edge J2–J3 (easting 38523700) is crossed by J4–J5 at northing 3306166.667
    assert "X=3306166.667, Y=38523700.000" in issue.message_en and "L9–L10" in issue.message_en
    assert "X=3306166.667" in issue.message_zh


def test_non_numeric_coordinate_names_line_and_field():
    with pytest.raises(BoundaryError) as info:
        read_boundary(BAD / "10_bad_y.txt")
    assert (info.value.issues[0].line, info.value.issues[0].field) == (10, "Y")
    assert str(info.value.issues[0]).startswith("line 10, field Y: ")
