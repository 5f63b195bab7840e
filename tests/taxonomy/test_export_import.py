"""Export to CSV / JSON / Label Studio and import of hand-written value lists."""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from click.testing import CliRunner

from moralgap.cli import main
from moralgap.errors import InputError
from moralgap.taxonomy import edits
from moralgap.taxonomy.export_import import export_taxonomy, import_taxonomy, to_labelstudio
from moralgap.taxonomy.folder import TaxonomyFolder

pytestmark = pytest.mark.slow  # real MiniLM embeddings

HAND_WRITTEN = """\
values:
  - name: Honesty
    definition: Telling the truth and not deceiving others.
    parent: Integrity
  - name: Privacy
    definition: "Keeping one's messages, body and space to oneself; commas, \\"quotes\\" survive."
  - name: Family
    parent: Loyalty
  - Punctuality
"""


@pytest.fixture(scope="module")
def imported(tmp_path_factory, embedder) -> TaxonomyFolder:
    src = tmp_path_factory.mktemp("import") / "mine.yaml"
    src.write_text(HAND_WRITTEN, encoding="utf-8")
    return import_taxonomy(src, embedder=embedder, author="ana")


def triples(tax):
    return [(v.name, v.definition, v.parent) for v in tax.values]


def test_import_makes_accepted_values_with_name_centroids(imported, embedder):
    tax = imported.taxonomy
    assert triples(tax)[0] == ("Honesty", "Telling the truth and not deceiving others.", "Integrity")
    assert triples(tax)[3] == ("Punctuality", "", None)
    assert {v.status for v in tax.values} == {"accepted"}
    assert len({v.id for v in tax.values}) == 4 and all(v.id.startswith("v") for v in tax.values)
    assert tax.lineage[0].op == "import" and tax.lineage[0].author == "ana"
    assert imported.expressions == []
    want = embedder.encode(["Honesty: Telling the truth and not deceiving others."])[0]
    np.testing.assert_allclose(imported.centroids[tax.values[0].id], want, atol=1e-5)


@pytest.mark.parametrize("fmt,suffix", [("csv", ".csv"), ("json", ".json")])
def test_round_trip_preserves_names_definitions_parents(imported, embedder, tmp_path, fmt, suffix):
    out = tmp_path / f"export{suffix}"
    export_taxonomy(imported.taxonomy, out, fmt)
    again = import_taxonomy(out, embedder=embedder)
    assert triples(again.taxonomy) == triples(imported.taxonomy)


def test_round_trip_of_an_edited_taxonomy_skips_inactive_values(imported, embedder, tmp_path):
    i = [v.id for v in imported.taxonomy.values]
    f = edits.rename(imported, i[0], "Truthfulness", author="ana")
    f = edits.reject(f, i[3], author="ana")
    export_taxonomy(f.taxonomy, tmp_path / "t.json", "json")
    names = [v.name for v in import_taxonomy(tmp_path / "t.json", embedder=embedder).taxonomy.values]
    assert names == ["Truthfulness", "Privacy", "Family"]
    export_taxonomy(f.taxonomy, tmp_path / "all.csv", "csv", include_inactive=True)
    assert "rejected" in (tmp_path / "all.csv").read_text()


def test_labelstudio_export_lists_active_values_grouped(imported):
    xml = to_labelstudio(imported.taxonomy)
    root = ET.fromstring(xml)
    assert root.tag == "View"
    tag = root.find("Taxonomy") if root.find("Taxonomy") is not None else root.find("Choices")
    assert tag is not None
    all_choices = {c.get("value"): c for c in tag.iter("Choice")}
    for v in imported.taxonomy.active_values():
        assert v.name in all_choices
        if v.parent:
            assert v.parent in all_choices


def test_import_real_table5(shared_data, embedder):
    path = shared_data / "reference_taxonomies" / "russo2025_moral_values_table5.yaml"
    if not path.exists():
        pytest.skip(f"{path} is absent")
    folder = import_taxonomy(path, embedder=embedder, name="table5")
    names = [v.name for v in folder.taxonomy.values]
    assert len(names) == 59 and "Marital Respect" in names and "Well-being" in names
    assert set(folder.centroids) == {v.id for v in folder.taxonomy.values}


@pytest.mark.parametrize("text,suffix,field", [
    ("values: []\n", ".yaml", "values"),
    ("- name: A\n- name: a\n", ".yaml", "values[1]"),
    ("- definition: no name\n", ".yaml", "values[0].name"),
    ('[{"name": "A"}, 3]', ".json", "values[1]"),
    ("name,definition\nA,x\n,y\n", ".csv", "name"),
])
def test_bad_value_lists(tmp_path, embedder, text, suffix, field):
    p = tmp_path / f"bad{suffix}"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as err:
        import_taxonomy(p, embedder=embedder)
    assert err.value.field == field


def test_cli_export_and_import(imported, tmp_path):
    imported.save(tmp_path / "tax")
    runner = CliRunner()
    for fmt in ("csv", "json", "labelstudio"):
        out = tmp_path / f"x.{fmt}"
        r = runner.invoke(main, ["taxonomy", "export", str(tmp_path / "tax"), "--format", fmt, "--out", str(out)])
        assert r.exit_code == 0, r.output
        assert out.read_text() and (tmp_path / f"x.{fmt}.manifest.json").exists()
    r = runner.invoke(main, ["taxonomy", "import", str(tmp_path / "x.json"), "--out", str(tmp_path / "back"),
                             "--author", "ana"])
    assert r.exit_code == 0, r.output
    back = TaxonomyFolder.load(tmp_path / "back")
    assert triples(back.taxonomy) == triples(imported.taxonomy)
    assert json.loads((tmp_path / "back" / "manifest.json").read_text())["command"] == "taxonomy import"
