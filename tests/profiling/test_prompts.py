from __future__ import annotations

import pytest

from moralgap.errors import InputError
from moralgap.profiling.prompts import DEFAULT_TEMPLATES, PromptTemplate, parse_share_unacceptable, render_profile
from moralgap.profiling.sampler import CONDITIONS, ProfileItem

PROFILE = [ProfileItem("v1", "Loyalty", 0.4), ProfileItem("v4", "Tradition", 0.3), ProfileItem("v9", "Convenience", 0.3)]


@pytest.mark.parametrize("condition", CONDITIONS)
def test_team_templates_ask_for_the_two_line_format_and_delimit_the_dilemma(condition):
    tpl = PromptTemplate.builtin(condition)
    tpl.check_condition(condition)
    profile = PROFILE if "profile" in tpl.placeholders else None
    messages = tpl.render(dilemma="  The main actor kept the cat.\n", profile=profile)
    assert [m["role"] for m in messages] == ["system", "user"]
    user = messages[-1]["content"]
    assert "Evaluation: <ACCEPTABLE or UNACCEPTABLE" in user and "Rationale: <" in user
    assert "=== SITUATION START ===\n> The main actor kept the cat.\n=== SITUATION END ===" in user
    assert "{{" not in user
    if profile:
        assert "- Loyalty: 0.40\n- Tradition: 0.30\n- Convenience: 0.30" in user
    if condition == "population":
        assert "Share unacceptable: <" in user
    assert len(tpl.sha256) == 64 and tpl.name == DEFAULT_TEMPLATES[condition]


def test_user_template_without_sections_and_placeholder_text_in_the_dilemma(tmp_path):
    path = tmp_path / "mine.txt"
    path.write_text("Judge this ({{k}} values):\n{{profile}}\n<<<\n{{dilemma}}\n>>>\n")
    tpl = PromptTemplate.load(path)
    messages = tpl.render(dilemma="They wrote {{profile}} on a wall.", profile=PROFILE, k=3)
    assert messages == [{"role": "user", "content": f"Judge this (3 values):\n{render_profile(PROFILE)}\n<<<\n> They wrote {{{{profile}}}} on a wall.\n>>>"}]


@pytest.mark.parametrize("text, message", [
    ("[system]\nx\n[user]\n{{dilemma}} {{mood}}\n", "mood"),
    ("[user]\nno dilemma here\n", "dilemma"),
    ("[system]\n{{dilemma}}\n", "no user message"),
    ("hello\n[user]\n{{dilemma}}\n", "before the first"),
    ("[user]\n{{dilemma}}\n[user]\nagain\n", "second"),
])
def test_bad_template_files(tmp_path, text, message):
    path = tmp_path / "t.txt"
    path.write_text(text)
    with pytest.raises(InputError, match=message):
        PromptTemplate.load(path)


def test_template_and_condition_must_agree(tmp_path):
    with pytest.raises(InputError, match="no \\{\\{profile\\}\\}"):
        PromptTemplate.builtin("vanilla").check_condition("dmp")
    with pytest.raises(InputError, match="has no profile"):
        PromptTemplate.builtin("dmp").check_condition("vanilla")
    with pytest.raises(InputError, match="not found"):
        PromptTemplate.load(tmp_path / "missing.txt")


def test_parse_share_unacceptable():
    assert parse_share_unacceptable("Evaluation: UNACCEPTABLE\nShare unacceptable: 72%\nRationale: x") == pytest.approx(0.72)
    assert parse_share_unacceptable("**Share unacceptable:** 5 %") == pytest.approx(0.05)
    assert parse_share_unacceptable("Share unacceptable: 140%") is None
    assert parse_share_unacceptable("Evaluation: ACCEPTABLE") is None
    assert parse_share_unacceptable(None) is None
