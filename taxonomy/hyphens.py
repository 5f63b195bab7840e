"""Hyphenated words as one token: "well-being", "self-centered", "mother-in-law".

spaCy's English tokenizer splits a hyphenated word into its parts, and every rule then read
the parts as if they were words: "protect your well-being" was normalised to "protect being",
"mean-spirited" to "spirited", "non-refundable" to "refundable", and "mother-in-law" was the
value word "law". The lexicon's hyphenated entries ("self-centered", "two-faced",
"passive-aggressive") never matched at all. This component, placed after the parser and
lemmatizer, merges each such word back into one token before the value rules read the doc.

A word is merged only when its parts are letters written with no space around the hyphens;
a dash between words ("NTA-I think", "celebrities- and") is punctuation, not a compound, and
a part that is a verdict tag or an abbreviation keeps the hyphen apart. One compound is also
written without its hyphens so often that it is merged the same way: "mother in law", "your in
laws", whose "law" was otherwise read as the value.
"""
from __future__ import annotations

from spacy.language import Language
from spacy.tokens import Doc, Token

COMPONENT = "moralgap_hyphenated_words"

# Reddit writes a verdict tag glued to the next word with a dash ("NTA-if", "super-ah").
NOT_A_PART = {"nta", "yta", "esh", "nah", "info", "ywbta", "ywnbta", "wibta", "aita", "ah", "op", "edit", "tldr"}


def _joins(left: Token, hyphen: Token, right: Token) -> bool:
    return (hyphen.text == "-" and left.is_alpha and right.is_alpha and not left.whitespace_ and not hyphen.whitespace_
            and left.lower_ not in NOT_A_PART and right.lower_ not in NOT_A_PART)


def hyphenated_runs(doc: Doc) -> list[tuple[int, int]]:
    """Token ranges ``[start, end)`` of the hyphenated words in ``doc``."""
    runs, i = [], 0
    while i + 2 < len(doc):
        if not _joins(doc[i], doc[i + 1], doc[i + 2]):
            i += 1
            continue
        end = i + 3
        while end + 1 < len(doc) and _joins(doc[end - 1], doc[end], doc[end + 1]):
            end += 2
        runs.append((i, end))
        i = end
    return runs


# Kin that take "in law" ("brother in law", "cousins in law"), and the words before a bare "in
# laws" that make it the relatives ("your in laws"), not a place in the law ("written in laws").
IN_LAW_KIN = {"mother", "father", "brother", "sister", "son", "daughter", "cousin", "parent"}
IN_LAW_OWNERS = {"my", "your", "his", "her", "our", "their", "the", "future", "new", "both"}


def spaced_in_law_runs(doc: Doc) -> list[tuple[int, int, str]]:
    """Token ranges ``[start, end)`` of in-laws written with spaces, each with its lemma."""
    runs = []
    for i in range(len(doc) - 1):
        if doc[i].lower_ != "in" or doc[i + 1].lower_ not in ("law", "laws"):
            continue
        before = doc[i - 1] if i else None
        if before is not None and before.lemma_.lower() in IN_LAW_KIN and before.pos_ in ("NOUN", "PROPN"):
            runs.append((i - 1, i + 2, f"{before.lemma_.lower()}-in-law"))
        elif before is not None and before.lower_ in IN_LAW_OWNERS and doc[i + 1].lower_ == "laws":
            runs.append((i, i + 2, "in-law"))
    return runs


def _lemma(parts: list[Token], root: Token) -> str:
    """The merged word's lemma: a noun or a finite verb by its last part's lemma ("in-laws" ->
    "in-law", "de-escalated" -> "de-escalate"); anything else as written ("self-centered",
    "kind-hearted", whose parts' lemmas would read "self-center")."""
    written = "".join(t.text + t.whitespace_ for t in parts).strip().lower()
    last = parts[-1]
    if root.pos_ in ("NOUN", "PROPN") or (root.pos_ == "VERB" and root.tag_ in ("VB", "VBP", "VBZ", "VBD")):
        return written[: len(written) - len(last.text)] + last.lemma_.lower()
    return written


def merge_hyphenated(doc: Doc) -> Doc:
    """Merge every hyphenated word of ``doc`` into one token, which keeps the part of speech and
    the place in the parse of its head part (spaCy's retokenizer) and gets a whole-word lemma."""
    runs = [(s, e, _lemma(list(doc[s:e]), doc[s:e].root)) for s, e in hyphenated_runs(doc)]
    taken = {i for s, e, _ in runs for i in range(s, e)}
    runs += [r for r in spaced_in_law_runs(doc) if not taken.intersection(range(r[0], r[1]))]
    if not runs:
        return doc
    with doc.retokenize() as retokenizer:
        for s, e, lemma in runs:
            retokenizer.merge(doc[s:e], attrs={"LEMMA": lemma})
    return doc


@Language.component(COMPONENT)
def hyphenated_words(doc: Doc) -> Doc:
    return merge_hyphenated(doc)


def is_word(tok: Token) -> bool:
    """Letters only, or letters joined by hyphens ("well-being")."""
    return tok.is_alpha or (not tok.text.startswith("-") and all(p.isalpha() for p in tok.text.split("-")))

