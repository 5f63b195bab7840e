"""One value's members, form by form: what a reviewer reads before accepting, merging or splitting it.

`taxonomy show` lists a value's four most typical expressions; whether it holds together is
decided by the rest, which are in ``expressions.jsonl`` but not readable there. This lists every
form a value holds, how often and in how many rationales it was said, how close it lies to the
value's centroid (the ``similarity`` the build recorded), and, given the rationales, the sentence
one mention stands in. A form far below the others ("a civic duty" at 0.53 in a value of
"undermining" at 0.9) is the member to doubt; `taxonomy edit move` takes it out by the form or
by the expression ids listed here.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Iterable, Mapping

from moralgap.errors import InputError
from moralgap.records import Expression, Value

from .folder import TaxonomyFolder
from .space import sentence_around


@dataclass(frozen=True)
class MemberForm:
    """One normal form among a value's members."""

    norm: str
    written: str  # the most frequent text the form was found as
    mentions: int
    rationales: int
    similarity: float | None  # mean cosine of its mentions to the value's centroid, as the build recorded it
    example_rationale: str  # where the first mention (by rationale id and offset) was found
    example_start: int
    expression_ids: tuple[str, ...] = ()  # what `taxonomy edit move --expression` and `split --group` take

    def to_json_dict(self, texts: Mapping[str, str] | None = None) -> dict:
        out = {"form": self.norm, "written": self.written, "mentions": self.mentions, "rationales": self.rationales,
               "similarity": self.similarity, "example_rationale": self.example_rationale,
               "expression_ids": list(self.expression_ids)}
        if texts:
            out["sentence"] = self.sentence(texts)
        return out

    def sentence(self, texts: Mapping[str, str]) -> str | None:
        """The sentence of the example mention, when its rationale is among ``texts``."""
        text = texts.get(self.example_rationale)
        return sentence_around(text, self.example_start) if text else None


def find_value(folder: TaxonomyFolder, wanted: str) -> Value:
    """A value by id, or by name (case-insensitive); a merged value's id leads to the value that holds it."""
    from .edits import resolve

    by_id = folder.taxonomy.by_id()
    if wanted in by_id:
        return by_id[resolve(folder, wanted)]
    named = [v for v in folder.taxonomy.values if v.name.casefold() == wanted.strip().casefold()]
    if len(named) == 1:
        return by_id[resolve(folder, named[0].id)]
    tax = folder.taxonomy
    if named:
        raise InputError(None, f"{len(named)} values of {tax.name} v{tax.version} are named {wanted!r}: give one "
                               f"of their ids ({', '.join(v.id for v in named)})", field="value")
    raise InputError(None, f"no value {wanted!r} in {tax.name} v{tax.version}: give an id or a name as "
                           "`taxonomy show` lists them", field="value")


def member_forms(folder: TaxonomyFolder, value_id: str) -> list[MemberForm]:
    """Every form assigned to ``value_id``, closest to its centroid first (ties: most mentions, then form)."""
    return forms_of(folder.expressions, value_id)


def forms_of(expressions: Iterable[Expression], value_id: str) -> list[MemberForm]:
    """:func:`member_forms` of a list of expressions (a review task has no folder)."""
    mentions = defaultdict(list)
    for e in expressions:
        if e.value_id == value_id and not e.excluded:
            mentions[e.norm].append(e)
    out = []
    for norm, es in mentions.items():
        sims = [e.similarity for e in es if e.similarity is not None]
        first = min(es, key=lambda e: (e.rationale_id, e.start))
        written = Counter(e.text for e in es).most_common()
        out.append(MemberForm(norm=norm, written=min(written, key=lambda tc: (-tc[1], len(tc[0]), tc[0]))[0],
                              mentions=len(es), rationales=len({e.rationale_id for e in es}),
                              similarity=sum(sims) / len(sims) if sims else None,
                              example_rationale=first.rationale_id, example_start=first.start,
                              expression_ids=tuple(sorted(e.id for e in es))))
    return sorted(out, key=lambda m: (-(m.similarity if m.similarity is not None else -2.0), -m.mentions, m.norm))
