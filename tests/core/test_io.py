"""Validated reading, atomic writing and resumable appending."""
from __future__ import annotations

import json
import os

import pytest

from moralgap.datasets import load_dilemmas, load_judgments, vote_summaries
from moralgap.errors import InputError
from moralgap.io import KeyedAppender, atomic_open, read_records, write_jsonl
from moralgap.records import Judgment
from moralgap.verdicts import VerdictMap


def write_lines(path, lines):
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def j(**kw):
    base = {"id": "j1", "dilemma_id": "d1", "judge": "human", "verdict": "NTA", "rationale": "You were kind."}
    base.update(kw)
    return json.dumps(base)


def test_verdicts_normalise_and_info_is_dropped_and_counted(tmp_path):
    p = write_lines(tmp_path / "j.jsonl", [
        j(id="a", verdict="YTA"), j(id="b", verdict="nta"), j(id="c", verdict="ESH"),
        j(id="d", verdict="NAH"), j(id="e", verdict="INFO"), j(id="f", verdict="Unacceptable"),
    ])
    res = load_judgments(p)
    assert [r.verdict for r in res.records] == ["unacceptable", "acceptable", "unacceptable", "acceptable", "unacceptable"]
    assert res.dropped == {"verdict INFO": 1}
    assert res.records[0].verdict_raw == "YTA"


def test_user_mapping_overrides_default(tmp_path):
    p = write_lines(tmp_path / "j.jsonl", [j(id="a", verdict="ESH"), j(id="b", verdict="INFO")])
    res = load_judgments(p, verdict_map=VerdictMap.parse_option("ESH=acceptable,INFO=unacceptable"))
    assert [r.verdict for r in res.records] == ["acceptable", "unacceptable"]


@pytest.mark.parametrize("line, field, words", [
    ("{not json", None, "malformed JSON"),
    ("[1, 2]", None, "expected a JSON object"),
    (json.dumps({"id": "x", "judge": "human", "verdict": "NTA"}), "dilemma_id", "missing"),
    (j(verdict="MAYBE"), "verdict", "unknown verdict"),
    (j(verdict=3), "verdict", "expected a string"),
    (j(sample="three"), "sample", "integer"),
    (j(id=""), "id", "non-empty"),
])
def test_bad_lines_name_file_line_and_field(tmp_path, line, field, words):
    p = write_lines(tmp_path / "bad.jsonl", [j(id="ok"), line])
    with pytest.raises(InputError) as exc:
        load_judgments(p)
    err = exc.value
    assert err.path == str(p) and err.line == 2 and err.field == field
    assert words in str(err) and f"{p}:2" in str(err)


def test_empty_rationale_refused_only_when_needed(tmp_path):
    p = write_lines(tmp_path / "j.jsonl", [j(id="a", rationale="  ")])
    assert len(load_judgments(p).records) == 1
    with pytest.raises(InputError, match="empty rationale") as exc:
        load_judgments(p, require_rationale=True)
    assert exc.value.field == "rationale"


def test_duplicate_id_names_both_lines(tmp_path):
    p = write_lines(tmp_path / "j.jsonl", [j(id="a"), j(id="b"), j(id="a")])
    with pytest.raises(InputError, match="first seen on line 1") as exc:
        load_judgments(p)
    assert exc.value.line == 3


def test_not_utf8_is_reported_with_line(tmp_path):
    p = tmp_path / "latin1.jsonl"
    p.write_bytes((j(id="a") + "\n").encode() + b'{"id": "b", "rationale": "caf\xe9"}\n')
    with pytest.raises(InputError, match="not UTF-8") as exc:
        load_judgments(p)
    assert exc.value.line == 2


@pytest.mark.parametrize("data", [b"a\nb\n", b"a\n\n", b"a\r\nb", b"a\rb\n", b"a\r\r\n", b"a\r", b"\xef\xbb\xbfa\nb",
                                  b"", "x\u2028y\nz\u0085w\n".encode()])
def test_jsonl_read_a_line_at_a_time_splits_as_the_whole_text_would(tmp_path, data):
    # The reader streams (a corpus is never held whole) but must number and cut lines exactly as
    # splitting the decoded text does: at CR, LF and CRLF only, never at U+2028 inside a record.
    from moralgap.io import _open_text, _read_lines, jsonl_lines

    p = tmp_path / "t.jsonl"
    p.write_bytes(data)
    assert list(_read_lines(p)) == list(enumerate(jsonl_lines(_open_text(p)), start=1))


def test_skip_invalid_reports_and_goes_on(tmp_path):
    p = write_lines(tmp_path / "j.jsonl", [j(id="a"), "{oops", j(id="b", verdict="??"), j(id="c")])
    res = load_judgments(p, skip_invalid=True)
    assert [r.id for r in res.records] == ["a", "c"]
    assert [e.line for e in res.skipped] == [2, 3]
    assert "2 invalid skipped" in res.summary()


def test_csv_input_and_topics_cell(tmp_path):
    p = tmp_path / "d.csv"
    p.write_text('id,title,text,topics\nd1,T,"A long, quoted\ntext",family; work\n', encoding="utf-8")
    res = load_dilemmas(p)
    assert res.records[0].topics == ["family", "work"] and "quoted\ntext" in res.records[0].text


def test_vote_summaries_consensus():
    js = [Judgment(id=str(i), dilemma_id="d", verdict=v) for i, v in enumerate(["acceptable"] * 3 + ["unacceptable"])]
    s = vote_summaries(js)["d"]
    assert (s.n, s.p_acceptable, s.consensus) == (4, 0.75, 0.75)


def test_atomic_write_leaves_old_file_on_error(tmp_path):
    target = tmp_path / "out.jsonl"
    write_jsonl(target, [{"id": 1}])
    with pytest.raises(RuntimeError):
        with atomic_open(target) as fh:
            fh.write("partial")
            raise RuntimeError("crash mid-write")
    assert target.read_text() == '{"id": 1}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["out.jsonl"]


def test_keyed_appender_recovers_torn_line_and_skips_done(tmp_path):
    out = tmp_path / "run.jsonl"
    out.write_text('{"id": "a", "v": 1}\n{"id": "b", "v"', encoding="utf-8")  # died mid-write
    with KeyedAppender(out) as app:
        assert app.done == {"a"}
        app.write({"id": "a", "v": 99})  # already done: ignored
        app.write({"id": "b", "v": 2})
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert rows == [{"id": "a", "v": 1}, {"id": "b", "v": 2}]


def test_file_not_found_and_folder(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        read_records(tmp_path / "nope.jsonl", Judgment)
    with pytest.raises(InputError, match="is a folder"):
        read_records(tmp_path, Judgment)


def test_folder_swap_replaces_whole_or_keeps_old(tmp_path):
    from moralgap.io import write_folder_atomically

    out = tmp_path / "tax"
    write_folder_atomically(out, lambda d: (d / "a.json").write_text("1"))
    write_folder_atomically(out, lambda d: (d / "b.json").write_text("2"))
    assert sorted(p.name for p in out.iterdir()) == ["b.json"]

    def crash(d):
        (d / "half.json").write_text("partial")
        raise RuntimeError("crash mid-write")

    with pytest.raises(RuntimeError):
        write_folder_atomically(out, crash)
    assert sorted(p.name for p in out.iterdir()) == ["b.json"]
    assert [p.name for p in tmp_path.iterdir()] == ["tax"]
