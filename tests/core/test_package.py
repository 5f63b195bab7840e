"""The installed distribution: one top-level package, light to import, every export resolvable."""
from __future__ import annotations

import importlib
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
STAGES = ("taxonomy", "annotation", "profiling", "alignment")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    # Built from a copy so a concurrent build never shares the checkout's build/ folder.
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    for folder in ("moralgap", *STAGES):
        shutil.copytree(REPO / folder, src / folder, ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path_factory.mktemp("wheel")
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                           "-w", str(out), str(src)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    (built,) = out.glob("moralgap-*.whl")
    return built


@pytest.fixture(scope="module")
def wheel_names(wheel) -> list[str]:
    with zipfile.ZipFile(wheel) as zf:
        return zf.namelist()


def test_wheel_installs_only_moralgap_at_top_level(wheel_names):
    top = {n.split("/", 1)[0] for n in wheel_names}
    dist_info = {t for t in top if t.endswith(".dist-info")}
    assert top - dist_info == {"moralgap"}
    for stage in STAGES:
        assert f"moralgap/{stage}/__init__.py" in wheel_names
    # Data the stages read at run time travels with them.
    assert "moralgap/taxonomy/resources/value_lexicon.yaml" in wheel_names
    assert "moralgap/profiling/templates/dmp.txt" in wheel_names


def test_wheel_declares_only_moralgap_as_top_level(wheel, wheel_names):
    (top_level,) = [n for n in wheel_names if n.endswith(".dist-info/top_level.txt")]
    with zipfile.ZipFile(wheel) as zf:
        assert zf.read(top_level).decode().split() == ["moralgap"]


def test_import_moralgap_loads_no_model_library():
    code = ("import sys, moralgap, moralgap.taxonomy, moralgap.annotation, moralgap.profiling, moralgap.alignment\n"
            "heavy = sorted(m for m in ('torch', 'sentence_transformers', 'spacy', 'transformers', 'hdbscan') if m in sys.modules)\n"
            "print(','.join(heavy))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == ""


def test_cli_help_loads_no_model_library():
    code = ("import sys\nfrom click.testing import CliRunner\nfrom moralgap.cli import main\n"
            "for args in (['--help'], ['taxonomy', '--help'], ['annotate', '--help'], ['judge', '--help']):\n"
            "    assert CliRunner().invoke(main, args).exit_code == 0, args\n"
            "print('torch' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "False"


@pytest.mark.parametrize("package", ["moralgap", *(f"moralgap.{s}" for s in STAGES)])
def test_every_export_resolves(package):
    mod = importlib.import_module(package)
    missing = [name for name in mod.__all__ if getattr(mod, name, None) is None]
    assert missing == []
    with pytest.raises(AttributeError, match="no attribute 'NoSuchThing'"):
        getattr(mod, "NoSuchThing")


def test_top_level_exports_are_the_stage_objects():
    import moralgap
    from moralgap.annotation.auto import ZeroShotAnnotator
    from moralgap.profiling.batch import write_prompts
    from moralgap.taxonomy.build import TaxonomyBuilder

    assert moralgap.TaxonomyBuilder is TaxonomyBuilder
    assert moralgap.ZeroShotAnnotator is ZeroShotAnnotator
    assert moralgap.write_prompts is write_prompts
    assert moralgap.taxonomy.edits is importlib.import_module("moralgap.taxonomy.edits")


def test_the_taxonomy_stage_does_not_depend_on_the_annotation_stage():
    # The stages run in order; the taxonomy is read by annotation, never the other way round.
    offenders = [str(p.relative_to(REPO)) for p in (REPO / "taxonomy").rglob("*.py")
                 if "moralgap.annotation" in p.read_text(encoding="utf-8") or "..annotation" in p.read_text(encoding="utf-8")]
    assert offenders == []
    code = ("import importlib, pkgutil, sys, moralgap.taxonomy as t\n"
            "for m in pkgutil.iter_modules(t.__path__):\n"
            "    importlib.import_module('moralgap.taxonomy.' + m.name)\n"
            # The stage package itself is loaded by moralgap's export table; none of its modules may be.
            "print(sorted(k for k in sys.modules if k.startswith('moralgap.annotation.')))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "[]"
