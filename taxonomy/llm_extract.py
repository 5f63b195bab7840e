"""Value expressions listed by an LLM (``taxonomy build --extractor llm``).

One request per rationale with the ``extract_values`` template: the model lists each value
expression as the commenter's own words (``quote``), a short normal form (``phrase``) and a
polarity. Offsets are never made up: the quote is looked up in the rationale, exactly first,
then ignoring case, curly quotes and spacing. A quote that is not in the text (the model
paraphrased) is kept, for counting and inspection, as ``rule="llm-paraphrase"`` with offsets
``-1``/``-1`` and ``excluded="llm_paraphrase"``; excluded expressions are never clustered.
The taxonomy's value filter (verdict words, bare nouns, ...) applies to LLM expressions too.

A rationale with no valid answer after the bounded retries gets no expressions and is listed
in :attr:`LLMExtractor.failures` (the build writes them to ``llm_failures.jsonl``).
"""
from __future__ import annotations

import re
from typing import Any, Optional

from moralgap.records import Expression

from .llm_client import InvalidAnswer, PromptTemplate, StructuredLLM
from .value_filter import exclusion_reason

TEMPLATE = "extract_values"
PARAPHRASE = "llm-paraphrase"
MAX_PHRASE_WORDS = 6
_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})


def normal_form(phrase: str) -> str:
    """Lower case, plain quotes, single spaces, no surrounding punctuation."""
    return " ".join(phrase.translate(_QUOTES).lower().split()).strip(" .,;:!?\"'()")


def locate(text: str, quote: str, taken: set[tuple[int, int]]) -> Optional[tuple[int, int]]:
    """Character offsets of ``quote`` in ``text``, skipping spans already used, or ``None``.

    Exact match first; then the same words ignoring case, curly versus straight quotes and
    runs of spaces, since models often re-case or re-space what they copy; then both again
    without a trailing full stop or other end punctuation.
    """
    q = quote.strip().strip("\"'\u201c\u201d\u2018\u2019").strip()
    if not q:
        return None
    found = _find(text, q, taken)
    if found is None and q.rstrip(".,;:!?\u2026") != q:
        # Models often end a copied phrase with a full stop the comment does not have there.
        found = _find(text, q.rstrip(".,;:!?\u2026").rstrip(), taken)
    return found


def _find(text: str, q: str, taken: set[tuple[int, int]]) -> Optional[tuple[int, int]]:
    if not q:
        return None
    start = text.find(q)
    while start >= 0:
        if (start, start + len(q)) not in taken:
            return start, start + len(q)
        start = text.find(q, start + 1)
    words = q.translate(_QUOTES).split()
    pattern = r"\s+".join(re.escape(w) for w in words)
    for m in re.finditer(pattern, text.translate(_QUOTES), flags=re.IGNORECASE):
        # translate() maps one character to one, so offsets carry over to the original text.
        if (m.start(), m.end()) not in taken:
            return m.start(), m.end()
    return None


def validate_answer(answer: Any, fields: dict) -> list[dict]:
    items = []
    for i, item in enumerate(answer["expressions"]):
        quote, phrase = item["quote"].strip(), normal_form(item["phrase"])
        if not quote:
            raise InvalidAnswer(f"expression {i}: empty quote")
        if not phrase:
            raise InvalidAnswer(f"expression {i}: empty phrase")
        if len(phrase.split()) > MAX_PHRASE_WORDS:
            raise InvalidAnswer(f"expression {i}: phrase of {len(phrase.split())} words (at most {MAX_PHRASE_WORDS})")
        if len(quote) > len(fields["rationale"]):
            raise InvalidAnswer(f"expression {i}: quote longer than the rationale")
        items.append({"quote": quote, "phrase": phrase, "polarity": item["polarity"]})
    return items


class LLMExtractor:
    """Implements the builder's ``Extractor`` protocol with an LLM behind :class:`StructuredLLM`."""

    def __init__(self, client: StructuredLLM, *, template: PromptTemplate | None = None):
        self.client = client
        self.template = template or PromptTemplate.load(TEMPLATE)
        self.name = f"llm:{client.settings.model}"
        self.failures: list[dict] = []
        self.stats = {"rationales": 0, "expressions": 0, "paraphrased": 0, "excluded": 0, "failed_rationales": 0}

    def extract(self, judgments) -> list[Expression]:
        todo = [(j.id, j.rationale or "") for j in judgments]
        items = [(rid, {"rationale": text}) for rid, text in todo if text.strip()]
        outcomes = self.client.run(self.template, items, validate_answer, desc="LLM extraction")
        texts = dict(todo)
        out: list[Expression] = []
        for o in outcomes:
            self.stats["rationales"] += 1
            if not o.ok:
                self.stats["failed_rationales"] += 1
                self.failures.append({"stage": "extract", "rationale_id": o.item_id, "error": o.error,
                                      "attempts": o.attempts, "errors": o.errors})
                continue
            out.extend(self.expressions_of(o.item_id, texts[o.item_id], o.value))
        return out

    def expressions_of(self, rid: str, text: str, items: list[dict]) -> list[Expression]:
        found, loose, taken = [], [], set()
        for item in items:
            span = locate(text, item["quote"], taken)
            if span is None:
                loose.append(item)
                continue
            taken.add(span)
            found.append((span, item))
        found.sort(key=lambda x: x[0])
        out = []
        for k, ((start, end), item) in enumerate(found):
            surface = text[start:end]
            out.append(Expression(id=f"{rid}#{k}", rationale_id=rid, start=start, end=end, text=surface,
                                  norm=item["phrase"], rule="llm", polarity=item["polarity"],
                                  excluded=exclusion_reason(item["phrase"], "llm", text=surface)))
        for k, item in enumerate(loose, start=len(found)):
            out.append(Expression(id=f"{rid}#{k}", rationale_id=rid, start=-1, end=-1, text=item["quote"],
                                  norm=item["phrase"], rule=PARAPHRASE, polarity=item["polarity"],
                                  excluded="llm_paraphrase"))
        self.stats["expressions"] += len(out)
        self.stats["paraphrased"] += len(loose)
        self.stats["excluded"] += sum(1 for e in out if e.excluded)
        return out
