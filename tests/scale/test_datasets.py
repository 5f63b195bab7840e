"""Datasets at scale without Ray: Parquet files and folders of shards in, shard folders out."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from moralgap.datasets import load_judgments
from moralgap.errors import ConfigError, InputError
from moralgap.scale.datasets import ShardedKeyedWriter, first_record, open_keyed_output, write_parquet


def _rows(n: int, start: int = 0) -> list[dict]:
    return [{"id": f"j{i}", "dilemma_id": f"d{i % 3}", "judge": "human", "verdict": "NTA" if i % 2 else "YTA",
             "rationale": f"You were kind to her, reason {i}."} for i in range(start, start + n)]


def _jsonl(path, rows) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def test_parquet_and_shard_folder_read_as_one_dataset(tmp_path):
    pytest.importorskip("pyarrow", reason="Parquet needs pyarrow: pip install 'moralgap[ray]'")
    rows = _rows(25)
    folder = tmp_path / "corpus"
    folder.mkdir()
    write_parquet(folder / "part-00000.parquet", rows[:10])
    _jsonl(folder / "part-00001.jsonl", rows[10:20])
    write_parquet(folder / "sub" / "part-00002.parquet", rows[20:])
    (folder / "_SUCCESS").write_text("")
    (folder / ".part-00003.jsonl.tmp").write_text("not a shard")
    (folder / "manifest.json").write_text("{}")
    got = load_judgments(folder).records
    assert [j.id for j in got] == [r["id"] for r in rows]
    assert [j.verdict for j in got] == [("acceptable" if i % 2 else "unacceptable") for i in range(25)]
    single = load_judgments(folder / "part-00000.parquet").records
    assert [j.id for j in single] == [r["id"] for r in rows[:10]]


def test_bad_rows_name_the_shard_the_row_and_the_field(tmp_path):
    pytest.importorskip("pyarrow", reason="Parquet needs pyarrow: pip install 'moralgap[ray]'")
    folder = tmp_path / "corpus"
    folder.mkdir()
    bad = _rows(5)
    bad[3]["verdict"] = "MAYBE"
    write_parquet(folder / "a.parquet", _rows(3, start=100))
    write_parquet(folder / "b.parquet", bad)
    with pytest.raises(InputError) as err:
        load_judgments(folder)
    assert str(err.value).startswith(f"{folder}:b.parquet:row 4: field 'verdict': unknown verdict 'MAYBE'")
    missing = _rows(3)
    del missing[1]["dilemma_id"]
    _jsonl(folder / "b.parquet", [])  # replaced below by a JSONL shard
    os.unlink(folder / "b.parquet")
    _jsonl(folder / "c.jsonl", missing)
    with pytest.raises(InputError, match=r"corpus:c\.jsonl:2: field 'dilemma_id': missing required field"):
        load_judgments(folder)
    _jsonl(folder / "c.jsonl", _rows(2, start=100))  # ids already in a.parquet
    with pytest.raises(InputError, match=r"c\.jsonl:1: field 'id': duplicate id 'j100' \(first seen on line a\.parquet:row 1\)"):
        load_judgments(folder)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match="is a folder with no shards"):
        load_judgments(empty)


def test_sharded_output_resumes_after_a_kill_without_loss_or_repeat(tmp_path):
    out = tmp_path / "values"
    w = ShardedKeyedWriter(out, key="rationale_id", shard_size=4)
    for i in range(10):
        w.write({"rationale_id": f"r{i}", "v": i})
    # Killed here: no close. Two whole shards are in place; r8, r9 sit in the open shard, and
    # the process died while writing r10 (a torn line).
    assert sorted(p.name for p in out.iterdir()) == [".part-00002.jsonl.open", "part-00000.jsonl", "part-00001.jsonl"]
    w._appender._fh.write('{"rationale_id": "r10", "v"')
    w._appender._fh.flush()
    with open_keyed_output(out, "rationale_id") as again:
        assert again.done == {f"r{i}" for i in range(10)}
        for i in range(14):
            again.write({"rationale_id": f"r{i}", "v": i})
    names = sorted(p.name for p in out.iterdir())
    assert names == ["part-00000.jsonl", "part-00001.jsonl", "part-00002.jsonl", "part-00003.jsonl"]
    records = [json.loads(line) for n in names for line in (out / n).read_text().splitlines()]
    assert sorted(r["rationale_id"] for r in records) == sorted(f"r{i}" for i in range(14))
    assert first_record(out) == {"rationale_id": "r0", "v": 0}


def test_a_suffixed_output_stays_one_jsonl_file(tmp_path):
    from moralgap.io import KeyedAppender

    with open_keyed_output(tmp_path / "judgments.jsonl", "id") as sink:
        assert isinstance(sink, KeyedAppender)


def test_local_engine_never_imports_ray(tmp_path):
    pytest.importorskip("pyarrow", reason="Parquet needs pyarrow: pip install 'moralgap[ray]'")
    rows = _rows(4)
    write_parquet(tmp_path / "j.parquet", rows)
    code = (
        "import sys\n"
        "from moralgap.scale import make_engine\n"
        "from moralgap.datasets import load_judgments\n"
        "from moralgap.taxonomy.cli_build import build\n"
        "from moralgap.annotation.cli_auto import auto_command\n"
        "from moralgap.alignment.cli import judge_command\n"
        f"assert len(load_judgments({str(tmp_path / 'j.parquet')!r}).records) == 4\n"
        "make_engine('local').close()\n"
        "assert 'ray' not in sys.modules, 'the local path imported ray'\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_engine_ray_without_ray_installed_says_how_to_install(tmp_path):
    # A fake for a failure this machine cannot have for real (Ray is installed here): a None
    # entry in sys.modules makes "import ray" fail as it would without the package.
    code = (
        "import sys\n"
        "sys.modules['ray'] = None\n"
        "from moralgap.cli import run\n"
        "sys.argv = ['moralgap', 'judge', 'p.jsonl', '--out', 'o.jsonl', '--engine', 'ray']\n"
        "run()\n"
    )
    (tmp_path / "p.jsonl").write_text("")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 2
    assert r.stderr.strip().splitlines()[-1] == "error: --engine ray needs Ray: pip install 'moralgap[ray]' (Ray Data and pyarrow)"


def test_ray_options_without_engine_ray_are_refused():
    from moralgap.scale import make_engine

    with pytest.raises(ConfigError, match="need --engine ray"):
        make_engine("local", address="auto")


def test_manifest_hashes_a_shard_folder_as_one_input(tmp_path):
    pytest.importorskip("pyarrow", reason="Parquet needs pyarrow: pip install 'moralgap[ray]'")
    from moralgap.manifest import Manifest

    folder = tmp_path / "corpus"
    folder.mkdir()
    _jsonl(folder / "a.jsonl", _rows(2))
    write_parquet(folder / "b.parquet", _rows(2, start=2))

    def digest():
        m = Manifest("test")
        m.add_input(folder, "judgments")
        return m.data["inputs"]["judgments"]

    first = digest()
    assert first["shards"] == 2 and len(first["sha256"]) == 64 and first == digest()
    _jsonl(folder / "a.jsonl", _rows(2, start=10))
    assert digest()["sha256"] != first["sha256"]
