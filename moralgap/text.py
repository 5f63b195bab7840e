"""Text shown inline, shared by every stage that prints or embeds user text in one line."""
from __future__ import annotations


def one_line(text: str) -> str:
    """``text`` with each run of whitespace (line breaks included) as one space: a name in a
    prompt, a renamed value, a span found across a paragraph break ("esh\\n\\nyou told" on the
    AITA comments) stays on its line, so it can neither break a listing nor start a forged line."""
    return " ".join(text.split())
