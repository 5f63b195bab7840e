"""How a normal form was written: names read as the comments did, not as lemmas.

Normal forms are lemmas, so that "crossed" and "crossing" cluster as one; but a lemma is often
a word nobody wrote ("clothe" of "clothes", "entitle" of "entitled"). Only regular English
endings are undone here, and a few irregular plurals ("data" of "datum"): an irregular verb
form ("told") is left to the form.
"""
from __future__ import annotations

import re

# A word with its clitic ("don't", "wife's"); a hyphen splits words, as the tokenizer does.
SURFACE_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
NEGATIONS = {"not", "never", "no"}
NOT = ("n't", "n’t")
ENDINGS = ("", "s", "es", "d", "ed", "ing", "er", "ers", "est", "'s", "’s")
# Irregular plurals whose lemma reads oddly as a name ("Datum" for what the premises call "data").
PLURALS = {"datum": "data", "medium": "media", "criterion": "criteria", "phenomenon": "phenomena",
           "child": "children", "person": "people", "man": "men", "woman": "women"}


def as_written(norm: str, surface: str) -> str:
    """A normal form as its writer put it: the words of ``surface`` from the first to the last
    that are ``norm``'s words ("crossed a line" for ``cross line``, "entitled" for ``entitle``).

    What the span adds around those words (a subject, "so") is left out, as in the normal form.
    A "should" the span lacks goes too: the build reads "should apologize" and "apologize" as
    one expression (``space.meaning_text``), so a key's shown text may be either ("apologize",
    "forced"). Other norm words the span does not hold (an irregular form: "tell" of "told")
    stay as they are, before or after it.
    """
    words = norm.lower().split()
    found = [(m.start(), m.end(), m.group().lower()) for m in SURFACE_WORD.finditer(surface or "")]
    hits: list[tuple[int, int]] = []
    j = 0
    for i, w in enumerate(words):
        k = next((k for k in range(j, len(found)) if _says(found[k][2], w)), None)
        if k is not None:
            hits.append((i, k))
            j = k + 1
    if not hits:
        return norm
    (first, start), (last, end) = hits[0], hits[-1]
    if words[0] == "should" and first > 0:
        # A command's refusal is in its sign, not its form ("should budge" of "don't budge"),
        # and a name read as written must keep it.
        while start > 0 and (_refuses(found[start - 1][2]) or (found[start - 1][2] == "do" and _refuses(found[start][2]))):
            start -= 1
    middle = SURFACE_WORD.findall(surface[found[start][0]:found[end][1]].lower())
    lead = words[1:first] if words[0] == "should" else words[:first]
    return " ".join([*lead, *middle, *words[last + 1:]])


def words_said(norm: str, surface: str) -> int:
    """How many of ``norm``'s words ``surface`` holds, in any regular form. The "should" and
    "not" of a duty are not counted: one key holds "should apologize" and "apologize" (see
    :func:`as_written`), and a text is not the better for saying them."""
    found = [m.group().lower() for m in SURFACE_WORD.finditer(surface or "")]
    return sum(any(_says(f, w) for f in found) for w in norm.lower().split() if w not in ("should", "not"))


def same_words(words: list[str], others: list[str]) -> bool:
    """Every word of ``words`` is a word of ``others``, maybe in another form."""
    return all(any(_same_word(w, o) for o in others) for w in words)


def _same_word(a: str, b: str) -> bool:
    """Two forms of one word: "cheat" and "cheating", "overstepping" and "overstepped"."""
    if a == b or _inflects(a, b) or _inflects(b, a):
        return True
    for ending in ENDINGS[1:]:
        base = a[:-len(ending)] if a.endswith(ending) else ""
        for stem in {base, base + "e", base[:-1], base[:-1] + "y" if base.endswith("i") else ""}:
            if len(stem) >= 3 and _inflects(a, stem) and _inflects(b, stem):
                return True
    return False


def _refuses(word: str) -> bool:
    return word in NEGATIONS or word.endswith(NOT)


def _says(word: str, lemma: str) -> bool:
    if lemma == "not":  # the "not" of "should not" is written "don't", "never", ...
        return _refuses(word)
    if PLURALS.get(lemma) == word:
        return True
    # "shouldn't" holds the "should" of a duty.
    return _inflects(word[:-3] if word.endswith(NOT) else word, lemma)


def _inflects(word: str, lemma: str) -> bool:
    """``word`` is ``lemma`` with a regular English ending ("clothes", "stopped", "tried")."""
    stems = {lemma, lemma + lemma[-1:]}
    if lemma.endswith("e"):
        stems.add(lemma[:-1])
    if lemma.endswith("y"):
        stems.add(lemma[:-1] + "i")
    if lemma.endswith("ie"):
        stems.add(lemma[:-2] + "y")
    return any(word.startswith(s) and word[len(s):] in ENDINGS for s in stems if s)
