"""Moral Foundations dictionary baseline: .dic and eMFD files, phrases, wildcards, mappings."""
from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from moralgap.annotation.lexicon_baseline import LexiconAnnotator, load_dic, load_emfd, load_lexicon, load_mapping
from moralgap.errors import InputError
from test_auto_data import judgments, write_inputs

DIC = "%\n1\tcare.virtue\n2\tcare.vice\n03\tfairness.vice\n%\nkind*\t1\nhurt\t2\ngolden rule\t1 3\ncheat*\t3\n"
EMFD = "word,care_p,fairness_p,care_sent\nhurt,0.9,0.1,-0.5\nfair,0.1,0.8,0.4\nchair,0.1,0.1,0.0\n"


@pytest.fixture
def dic(tmp_path):
    p = tmp_path / "tiny.dic"
    p.write_text(DIC)
    return load_dic(p)


def test_dic_matches_words_wildcards_and_phrases(dic):
    ann = LexiconAnnotator(dic).annotate_texts(["a"], ["Be kinder: the Golden Rule says cheating will hurt."])[0]
    assert set(ann.value_ids) == {"care.virtue", "care.vice", "fairness.vice"}
    assert ann.scores["care.virtue"] == pytest.approx(2 / 9, abs=1e-4)  # "kinder" + the phrase, over 9 words
    none = LexiconAnnotator(dic).annotate_texts(["b"], ["Nothing moral here."])[0]
    assert none.value_ids == [] and none.scores == {}
    two = LexiconAnnotator(dic, min_hits=2).annotate_texts(["c"], ["kind and kindly, but it hurt"])[0]
    assert two.value_ids == ["care.virtue"]


def test_emfd_uses_the_lexicon_base_rate(tmp_path):
    p = tmp_path / "emfd.csv"
    p.write_text(EMFD)
    lex = load_emfd(p)
    assert lex.categories == ["care", "fairness"]
    assert np.allclose(lex.base_rate, [1.1 / 3, 1.0 / 3])
    ann = LexiconAnnotator(lex).annotate_texts(["a"], ["It hurt to hear."])[0]
    assert ann.value_ids == ["care"] and ann.scores == {"care": 0.9, "fairness": 0.1}


def test_bad_lexicon_files_name_the_line(tmp_path):
    p = tmp_path / "bad.dic"
    p.write_text("%\n1\tcare.virtue\n%\nkind\t7\n")
    with pytest.raises(InputError, match="unknown category id") as err:
        load_dic(p)
    assert err.value.line == 4
    (tmp_path / "x.txt").write_text("hello")
    with pytest.raises(InputError, match="unknown lexicon format"):
        load_lexicon(tmp_path / "x.txt")
    (tmp_path / "bad.csv").write_text("term,score\nx,1\n")
    with pytest.raises(InputError, match="eMFD"):
        load_emfd(tmp_path / "bad.csv")


def test_mapping_to_taxonomy_values(dic, tmp_path):
    m = tmp_path / "map.json"
    m.write_text(json.dumps({"care.vice": "v-safety", "fairness.vice": ["v-honesty"]}))
    mapping = load_mapping(m, dic, {"v-safety", "v-honesty"})
    ann = LexiconAnnotator(dic, mapping=mapping, taxonomy_version=3).annotate(
        judgments([("r", "Cheating will hurt.")]))[0]
    assert set(ann.value_ids) == {"v-safety", "v-honesty"} and ann.taxonomy_version == 3
    m.write_text(json.dumps({"care.vice": "v-unknown"}))
    with pytest.raises(InputError, match="v-unknown"):
        load_mapping(m, dic, {"v-safety"})
    m.write_text(json.dumps({"purity": "v-safety"}))
    with pytest.raises(InputError, match="not a category"):
        load_mapping(m, dic, None)


def test_real_lexicons_load(shared_data):
    base = shared_data / "moral_lexicons"
    if not base.is_dir():
        pytest.skip(f"{base} is absent")
    text = "You betrayed your family and harmed her; that is unfair and disgusting."
    for name in ("mfd2.0.dic", "mft_original.dic", "emfd_scoring.csv"):
        lex = load_lexicon(base / name)
        ann = LexiconAnnotator(lex).annotate_texts(["r"], [text])[0]
        assert ann.value_ids and set(ann.value_ids) <= set(lex.categories), name


def test_cli_lexicon(tmp_path):
    from moralgap.annotation.cli import annotate_group

    paths = write_inputs(tmp_path)
    (tmp_path / "tiny.dic").write_text(DIC)
    out = tmp_path / "mf.jsonl"
    res = CliRunner().invoke(annotate_group, ["lexicon", str(paths["judgments"]), "--lexicon", str(tmp_path / "tiny.dic"),
                                              "--out", str(out)], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert rows and {r["source"] for r in rows} == {"lexicon:tiny"}
    assert (tmp_path / "mf.jsonl.manifest.json").exists()
