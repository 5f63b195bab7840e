"""``--engine ray`` on a real Ray cluster started here (head + one worker node on 127.0.0.1).

Every command runs as a subprocess, as a user would run it, against the cluster's address; the
local engine's outputs on the bundled sample are the reference. Each engine run gets its own
embedding cache unless a test says otherwise, so the vectors really are computed on Ray.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

ray = pytest.importorskip("ray", reason="Ray is not installed: pip install 'moralgap[ray]'")
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"


@pytest.fixture(scope="module")
def cluster():
    from ray.cluster_utils import Cluster

    # Ray takes the machine's address for its nodes on Linux; this makes it use loopback, so the
    # cluster is reachable from nowhere but this machine.
    old = os.environ.get("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER")
    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    c = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    worker = c.add_node(num_cpus=1)
    c.wait_for_nodes()
    c.worker = worker
    yield c
    c.shutdown()
    if old is None:
        os.environ.pop("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", None)
    else:
        os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = old


def moralgap(args, cache: Path, *, check: bool = True, env: dict | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "MORALGAP_CACHE_DIR": str(cache), "MORALGAP_PROGRESS": "0", **(env or {})}
    r = subprocess.run([sys.executable, "-m", "moralgap.cli", *map(str, args)], capture_output=True, text=True, env=env)
    if check:
        assert r.returncode == 0, r.stderr[-3000:]
    return r


def on_ray(cluster) -> list[str]:
    return ["--engine", "ray", "--ray-address", cluster.address]


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    return tmp_path_factory.mktemp("scale")


@pytest.fixture(scope="module")
def ray_build(cluster, work):
    out = work / "ray"
    moralgap(["taxonomy", "build", SAMPLE / "judgments.jsonl", "--out", out, *on_ray(cluster)], work / "cache")
    return out


@pytest.fixture(scope="module")
def local_build(ray_build, work):
    # A cache of its own, cold: both engines encode the same batches, so the vectors agree to
    # the bit (checked below) and nothing has to be shared for every byte to agree.
    out = work / "local"
    moralgap(["taxonomy", "build", SAMPLE / "judgments.jsonl", "--out", out], work / "cache-local")
    return out


def test_build_on_ray_is_byte_identical_to_local(ray_build, local_build):
    for f in ("taxonomy.json", "expressions.jsonl"):
        assert (ray_build / f).read_bytes() == (local_build / f).read_bytes(), f
    # Every value records how many dilemmas it spans, so the identity above says both engines
    # count dilemmas alike (the topic doubt itself is tested in tests/taxonomy/test_topics.py).
    tax = json.loads((ray_build / "taxonomy.json").read_text())
    assert all("n_dilemmas" in v["quality"] for v in tax["values"]) and any(v["quality"]["n_dilemmas"] > 1 for v in tax["values"])
    m = json.loads((ray_build / "manifest.json").read_text())
    assert m["engine"]["engine"] == "ray" and m["engine"]["ray_version"] == ray.__version__
    assert m["engine"]["nodes"] == 2 and m["engine"]["workers"] == 2
    assert m["counts"]["embedded"] > 0  # embedded on Ray, cold cache
    assert m["fit_sample"]["sampled"] is False and m["fit_sample"]["forms_fitted"] == m["fit_sample"]["forms_total"]
    lm = json.loads((local_build / "manifest.json").read_text())
    assert lm["engine"] == {"engine": "local"} and lm["counts"]["embedded"] == m["counts"]["embedded"]


def test_vectors_embedded_on_ray_are_bit_identical_to_this_process(ray_build, local_build, work):
    import numpy as np

    from moralgap.taxonomy.embed import Embedder

    on_ray, here = (Embedder(cache_dir=work / c / "embeddings").cache for c in ("cache", "cache-local"))
    on_ray._load(), here._load()
    assert len(here._index) > 100 and set(here._index) <= set(on_ray._index)
    for key, vec in here._index.items():
        assert np.array_equal(vec, on_ray._index[key]), key


def test_bounded_fit_is_the_same_on_both_engines(cluster, work):
    # The sample has about 300 distinct forms; 200 makes the fit a sample of them.
    args = ["taxonomy", "build", SAMPLE / "judgments.jsonl", "--fit-max-forms", 200]
    # The cache from the builds above: this test is about the shared fit-sample path.
    moralgap([*args, "--out", work / "local-200"], work / "cache")
    moralgap([*args, "--out", work / "ray-200", *on_ray(cluster)], work / "cache")
    for f in ("taxonomy.json", "expressions.jsonl"):
        assert (work / "ray-200" / f).read_bytes() == (work / "local-200" / f).read_bytes()
    tax = json.loads((work / "ray-200" / "taxonomy.json").read_text())
    fit = tax["stats"]["fit_sample"]
    assert fit["sampled"] is True and fit["forms_fitted"] == 200 < fit["forms_total"]
    assert fit["forms_assigned"] > 0 and fit["mentions_fitted"] < fit["mentions_total"]
    exprs = [json.loads(line) for line in (work / "ray-200" / "expressions.jsonl").read_text().splitlines()]
    sizes = {v["id"]: v["size"] for v in tax["values"]}
    for vid, n in sizes.items():
        assert n == sum(1 for e in exprs if e.get("value_id") == vid)
    m = json.loads((work / "ray-200" / "manifest.json").read_text())
    assert m["fit_sample"]["forms_sha256"] == fit["forms_sha256"]


def test_annotate_auto_on_ray_gives_the_same_records(cluster, local_build, work):
    local_out = work / "values-local.jsonl"
    ray_out = work / "values-ray"  # a folder of shards
    # Ray first, on a cold cache (rationales and prototypes embedded on Ray), then local on it.
    r = moralgap(["annotate", "auto", SAMPLE / "judgments.jsonl", "--taxonomy", local_build, "--out", ray_out,
                  *on_ray(cluster)], work / "cache-annotate")
    moralgap(["annotate", "auto", SAMPLE / "judgments.jsonl", "--taxonomy", local_build, "--out", local_out],
             work / "cache-annotate")
    local = local_out.read_text().splitlines()
    shards = sorted(ray_out.glob("part-*.jsonl"))
    assert shards and [line for s in shards for line in s.read_text().splitlines()] == local
    assert json.loads((ray_out / "manifest.json").read_text())["engine"]["engine"] == "ray"


@pytest.mark.parametrize("mode", ["assign", "regroup"])
def test_taxonomy_update_on_ray_gives_the_same_version(cluster, local_build, work, mode):
    # The 42 sample dilemmas' judgments again, as new rationales: every one is re-extracted
    # (on Ray), re-embedded through the cache and assigned by the update rule, or regrouped.
    args = ["taxonomy", "update", local_build, SAMPLE / "judgments.jsonl", "--author", "test",
            *(["--regroup"] if mode == "regroup" else [])]
    moralgap([*args, "--out", work / f"upd-ray-{mode}", *on_ray(cluster)], work / "cache")
    moralgap([*args, "--out", work / f"upd-local-{mode}"], work / "cache")

    def without_times(folder: Path) -> dict:
        tax = json.loads((folder / "taxonomy.json").read_text())
        for entry in tax["lineage"]:
            entry.pop("at", None)
        # The first run embedded the new texts and the second found them in the cache.
        assert tax["stats"]["last_update"].pop("embedded") + tax["stats"]["last_update"].pop("embedding_cache_hits") > 0
        return tax

    ray, local = work / f"upd-ray-{mode}", work / f"upd-local-{mode}"
    assert without_times(ray) == without_times(local)
    assert (ray / "expressions.jsonl").read_bytes() == (local / "expressions.jsonl").read_bytes()
    assert json.loads((ray / "manifest.json").read_text())["engine"]["engine"] == "ray"


def _prompts(work: Path) -> tuple[Path, Path]:
    dilemmas = [json.loads(line) for line in (SAMPLE / "dilemmas.jsonl").read_text().splitlines()][:12]
    prompts, stored = [], []
    for d in dilemmas:
        for s in range(5):
            cid = f"{d['id']}::vanilla::{s:04d}"
            prompts.append({"custom_id": cid, "method": "POST", "url": "/v1/chat/completions",
                            "body": {"model": "m", "messages": [{"role": "user", "content": d["text"]}]},
                            "moralgap": {"dilemma_id": d["id"], "condition": "vanilla", "sample": s, "seed": 13}})
            stored.append({"id": cid, "dilemma_id": d["id"], "judge": "stored-model", "condition": "vanilla", "sample": s,
                           "verdict": "acceptable" if (s + len(d["text"])) % 3 else "unacceptable",
                           "rationale": f"Answer {s} on {d['id']}."})
    p, r = work / "prompts.jsonl", work / "stored.jsonl"
    p.write_text("".join(json.dumps(x) + "\n" for x in prompts))
    r.write_text("".join(json.dumps(x) + "\n" for x in stored))
    return p, r


def _without_latency(lines) -> list[dict]:
    rows = [json.loads(line) for line in lines]
    for row in rows:
        row.pop("latency_s")
    return sorted(rows, key=lambda row: row["id"])


def test_judge_on_ray_gives_the_same_records_and_resumes(cluster, work):
    prompts, stored = _prompts(work)
    args = ["judge", prompts, "--backend", "replay", "--replay-file", stored]
    moralgap([*args, "--out", work / "judged-local.jsonl"], work / "cache-judge")
    moralgap([*args, "--out", work / "judged-ray.jsonl", *on_ray(cluster)], work / "cache-judge")
    local = (work / "judged-local.jsonl").read_text().splitlines()
    got = (work / "judged-ray.jsonl").read_text().splitlines()
    assert len(local) == 60 and _without_latency(got) == _without_latency(local)
    # A rerun finds everything answered and writes nothing more.
    r = moralgap([*args, "--out", work / "judged-ray.jsonl", *on_ray(cluster)], work / "cache-judge")
    assert "(0 this run" in r.stderr and (work / "judged-ray.jsonl").read_text().splitlines() == got


def test_judge_on_ray_checks_every_line_before_any_request_and_honours_limit(cluster, work):
    prompts, stored = _prompts(work)
    bad = work / "prompts-bad.jsonl"
    # The one bad line is the last: the driver reads the prompts lazily, but checks them all first.
    bad.write_text(prompts.read_text() + '{"custom_id": "d::vanilla::9", "body": {"messages": []}}\n')
    args = ["judge", bad, "--backend", "replay", "--replay-file", stored, *on_ray(cluster)]
    r = moralgap([*args, "--out", work / "judged-bad.jsonl"], work / "cache-judge", check=False)
    assert r.returncode != 0 and "prompts-bad.jsonl:61" in r.stderr and "body.messages" in r.stderr, r.stderr[-2000:]
    assert not (work / "judged-bad.jsonl").exists()
    args = ["judge", prompts, "--backend", "replay", "--replay-file", stored, *on_ray(cluster)]
    r = moralgap([*args, "--limit", "7", "--out", work / "judged-7.jsonl"], work / "cache-judge")
    ids = [json.loads(line)["id"] for line in (work / "judged-7.jsonl").read_text().splitlines()]
    first = [json.loads(line)["custom_id"] for line in prompts.read_text().splitlines()[:7]]
    assert sorted(ids) == sorted(first) and "7/7 prompts answered" in r.stderr


def test_a_worker_node_killed_mid_build_loses_and_repeats_nothing(cluster, local_build, work):
    out = work / "ray-killed"
    # The shared cache: the vectors are known, so the run is extraction on Ray, where the kill lands.
    env = {**os.environ, "MORALGAP_CACHE_DIR": str(work / "cache"), "MORALGAP_PROGRESS": "0"}
    proc = subprocess.Popen([sys.executable, "-m", "moralgap.cli", "taxonomy", "build", str(SAMPLE / "judgments.jsonl"),
                             "--out", str(out), *on_ray(cluster)], stderr=subprocess.PIPE, text=True, env=env)
    started = threading.Event()
    log: list[str] = []

    def watch():
        for line in proc.stderr:
            log.append(line)
            if "Starting execution of Dataset" in line:
                started.set()

    threading.Thread(target=watch, daemon=True).start()
    assert started.wait(300), "".join(log[-50:])
    time.sleep(5)  # the extraction actors are up on both nodes and working through batches
    assert proc.poll() is None, "the build finished before the worker node could be killed"
    cluster.remove_node(cluster.worker)
    # A replacement joins, as an autoscaler would bring one; Ray restarts the lost actor on it.
    cluster.worker = cluster.add_node(num_cpus=1)
    assert proc.wait(900) == 0, "".join(log[-50:])
    assert (out / "expressions.jsonl").read_bytes() == (local_build / "expressions.jsonl").read_bytes()
    assert (out / "taxonomy.json").read_bytes() == (local_build / "taxonomy.json").read_bytes()


def test_streaming_build_in_small_windows_gives_the_same_bytes(cluster, work):
    # 505 rationales in windows of 64: one extraction job over eight staged windows, eight spill
    # shards read back in order, and a sampled fit (the form table, the second pass and the
    # assignment all from the spill).
    args = ["taxonomy", "build", SAMPLE / "judgments.jsonl", "--fit-max-forms", 250]
    moralgap([*args, "--out", work / "local-250"], work / "cache")
    moralgap([*args, "--out", work / "ray-250", *on_ray(cluster)], work / "cache", env={"MORALGAP_RAY_WINDOW": "64"})
    for f in ("taxonomy.json", "expressions.jsonl", "centroids.npz"):
        assert (work / "ray-250" / f).read_bytes() == (work / "local-250" / f).read_bytes(), f
    assert json.loads((work / "ray-250" / "taxonomy.json").read_text())["stats"]["fit_sample"]["sampled"] is True
    assert not (work / ".ray-250.spill").exists()  # removed once the output is in place


def test_a_killed_build_resumes_from_its_spill_losing_and_repeating_nothing(cluster, local_build, work):
    import signal

    out = work / "ray-resumed"
    spill = work / ".ray-resumed.spill"
    env = {**os.environ, "MORALGAP_CACHE_DIR": str(work / "cache"), "MORALGAP_PROGRESS": "0", "MORALGAP_RAY_WINDOW": "64"}
    args = [sys.executable, "-m", "moralgap.cli", "taxonomy", "build", str(SAMPLE / "judgments.jsonl"), "--out", str(out),
            *on_ray(cluster)]
    proc = subprocess.Popen(args, stderr=subprocess.DEVNULL, env=env)
    deadline = time.time() + 600
    # Killed in the middle of the extraction job, once three windows' raw shards are sealed.
    while not (spill / "raw-00002.jsonl").exists():
        assert proc.poll() is None and time.time() < deadline, "the build ended before three windows were extracted"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not out.exists()
    sealed = sorted(spill.glob("raw-*.jsonl"))
    assert 3 <= len(sealed) < 8 and not list(spill.glob("part-*.jsonl"))
    r = subprocess.run(args, capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    m = json.loads((out / "manifest.json").read_text())
    assert m["counts"]["spill_windows_reused"] >= len(sealed)
    # Same bytes as the local engine's build: no expression lost or written twice.
    assert (out / "expressions.jsonl").read_bytes() == (local_build / "expressions.jsonl").read_bytes()
    assert (out / "taxonomy.json").read_bytes() == (local_build / "taxonomy.json").read_bytes()
    assert not spill.exists()


@pytest.mark.parametrize("mode", ["context", "sentence"])
def test_a_build_that_mixes_in_each_rationale_streams_on_ray_to_the_same_bytes(cluster, work, mode):
    # --embed-text context / sentence: every key holds its rationale (and offset), so the Ray
    # build embeds the words and the rationales (sentences) from a second read of the input, and
    # assigns the forms outside the fit sample window by window beside a third.
    args = ["taxonomy", "build", SAMPLE / "judgments.jsonl", "--embed-text", mode]
    small = {"MORALGAP_RAY_WINDOW": "64"}
    # Both cold: the streaming build sends the same texts for embedding as the local one encodes,
    # so the batches, the vectors and then every byte agree.
    moralgap([*args, "--out", work / f"local-{mode}"], work / f"cache-local-{mode}")
    moralgap([*args, "--out", work / f"ray-{mode}", *on_ray(cluster)], work / f"cache-ray-{mode}", env=small)
    for f in ("taxonomy.json", "expressions.jsonl", "centroids.npz"):
        assert (work / f"ray-{mode}" / f).read_bytes() == (work / f"local-{mode}" / f).read_bytes(), f
    m = json.loads((work / f"ray-{mode}" / "manifest.json").read_text())
    assert "spill_windows_reused" in m["counts"] and m["counts"]["embedded"] > 0  # streamed, embedded on Ray
    tax = json.loads((work / f"ray-{mode}" / "taxonomy.json").read_text())
    assert tax["params"]["embed_text"] == mode
    # Every mention is a form of its own, so 200 forms make the fit a sample and most mentions
    # are assigned beside the windows they were read in (one cache: a sampled build's cold batches
    # differ between engines, as they do under --embed-text norm).
    sampled = [*args, "--fit-max-forms", 200]
    moralgap([*sampled, "--out", work / f"local-{mode}-200"], work / f"cache-local-{mode}")
    moralgap([*sampled, "--out", work / f"ray-{mode}-200", *on_ray(cluster)], work / f"cache-local-{mode}", env=small)
    for f in ("taxonomy.json", "expressions.jsonl", "centroids.npz"):
        assert (work / f"ray-{mode}-200" / f).read_bytes() == (work / f"local-{mode}-200" / f).read_bytes(), f
    fit = json.loads((work / f"ray-{mode}-200" / "taxonomy.json").read_text())["stats"]["fit_sample"]
    assert fit["sampled"] is True and fit["forms_fitted"] == 200 and fit["forms_assigned"] > 0
