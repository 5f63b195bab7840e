"""Normal forms that say something other than the text: a count per corpus, to fix in one round.

    python benchmarks/normal_form_audit.py [--examples 2]

A normal form is what the build embeds and groups mentions by; the text shown to a reviewer is
the span as written. Where the two disagree the vector and the record's ``polarity`` carry the
wrong claim although the reviewer reads the right one. Each fix moves spans, so the shipped span
filter must be retrained and every taxonomy figure remeasured; this audit counts what such a
round would touch, over the corpora of ``text_shape.py`` (Touché23 and Webis-ArgValues-22
premises, AITA top comments, the distinct LLM rationales, the bundled sample), with the default
extractor (open words on):

- ``no_duty_read_as_duty``: "you shouldn't have to sell the house", "doesn't need to pay": a
  duty span that begins at "have to" / "need to" with the negation before it, outside the span,
  so its normal form is the duty itself (``should sell house``) and its polarity ``upheld``;
- ``refused_duty_shares_missed_duty_form``: a negated duty ("shouldn't have lied") whose normal
  form and polarity (``violated``) are those of a missed duty in the same corpus ("should have
  lied", a duty not done), so the two mean one thing to the build;
- ``contracted_missed_duty_upheld``: "should've apologized" read as ``upheld``, where "should
  have apologized" is ``violated`` (a duty not done);
- ``contracted_guess_read_as_duty``: "that must've hurt" read as the duty ``should hurt``, where
  "must have hurt" is a guess about the past and no duty;
- ``negation_dropped_from_modal_duty``: a refused duty written with a modal ("you shouldn't
  lie": ``should lie``, ``violated``, the negation in the polarity only and embedded as "lie"),
  the one way a refused duty is written down; counted so that the next column has a scale;
- ``negation_kept_in_imperative``: a refused command whose normal form keeps its "not"
  ("don't lie": ``should not lie``, embedded as "not lie"), one claim with a second form and a
  second vector. Commands were written so until they came to carry the refusal in the sign,
  as modal duties do;
- ``rights_set_apart``: "within your rights" read as the bare word ``right`` and set apart as a
  fragment, where the claim is a right;
- ``age_lost``: "a 16 year old" whose normal form keeps neither the number nor "year".

Each count says how many of those spans the rules keep as value expressions (``_kept``). With
``--examples N`` the first N spans of each pattern per corpus are printed with their normal form
(printed only: the corpora's text stays in ../shared/data).
"""
from __future__ import annotations

import argparse
import re
from collections import defaultdict

from _common import print_table, save_results

NEGATION_BEFORE = re.compile(r"(n't|n’t|\bnot|\bnever)\s+(\w+\s+)?$")
NO_DUTY_OPENERS = ("have to", "has to", "had to", "need to", "needs to")
NEGATION = re.compile(r"(n't|n’t|\bnot\b|\bnever\b)")
MISSED = re.compile(r"\bshould(n't|n’t)?\s+have\b|\bshould(’|')ve\b")
CONTRACTED = re.compile(r"\bshould(’|')ve\b")
MODAL_NEGATED = re.compile(r"\b(should|must|ought)(n't|n’t|\s+not\b|\s+never\b)")
GUESS = re.compile(r"\bmust(’|')ve\b")
WITHIN_RIGHTS = re.compile(r"\bwithin\b.*\brights?\b")
AGE = re.compile(r"\b\d+\s*(year|yr)s?[- ]?old\b")


def no_duty_read_as_duty(e, text: str) -> bool:
    return (e.rule == "duty" and e.polarity == "upheld" and e.text.lower().startswith(NO_DUTY_OPENERS)
            and bool(NEGATION_BEFORE.search(text[max(0, e.start - 25):e.start].lower())))


def rights_set_apart(e, text: str) -> bool:
    return e.excluded == "fragment" and bool(WITHIN_RIGHTS.search(e.text.lower()))


def age_lost(e, text: str) -> bool:
    return bool(AGE.search(e.text.lower())) and not {"year", "yr"} & set(e.norm.split())


def contracted_missed_duty_upheld(e, text: str) -> bool:
    return e.rule == "duty" and e.polarity == "upheld" and bool(CONTRACTED.search(e.text.lower()))


def negation_dropped_from_modal_duty(e, text: str) -> bool:
    return e.rule == "duty" and bool(MODAL_NEGATED.search(e.text.lower())) and " not " not in f" {e.norm} "


def negation_kept_in_imperative(e, text: str) -> bool:
    return e.rule == "duty" and e.norm.startswith("should not ") and not MODAL_NEGATED.search(e.text.lower())


def contracted_guess_read_as_duty(e, text: str) -> bool:
    return e.rule == "duty" and bool(GUESS.search(e.text.lower()))


def refused_duties(spans) -> list:
    """Negated violated duties whose normal form a missed duty ("should have lied", violated and
    not negated) also has."""
    duties = [e for e in spans if e.rule == "duty" and e.polarity == "violated"]
    missed = {e.norm for e in duties if MISSED.search(e.text.lower()) and not NEGATION.search(e.text.lower())}
    return [e for e in duties if NEGATION.search(e.text.lower()) and e.norm in missed]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--examples", type=int, default=0, help="print the first N spans of each pattern per corpus")
    opts = ap.parse_args()

    from text_shape import corpora  # pandas, for the argument corpora: not needed by the checks

    from moralgap.taxonomy.extract import ValueExtractor

    extractor = ValueExtractor(open_words=True)
    checks = {"no_duty_read_as_duty": no_duty_read_as_duty, "contracted_missed_duty_upheld": contracted_missed_duty_upheld,
              "contracted_guess_read_as_duty": contracted_guess_read_as_duty,
              "negation_dropped_from_modal_duty": negation_dropped_from_modal_duty,
              "negation_kept_in_imperative": negation_kept_in_imperative, "rights_set_apart": rights_set_apart, "age_lost": age_lost}
    rows, shown = [], defaultdict(list)
    for name, texts in corpora().items():
        items = [(str(i), t) for i, t in enumerate(texts)]
        spans = extractor.extract_texts(items)
        found = {k: [e for e in spans if check(e, texts[int(e.rationale_id)])] for k, check in checks.items()}
        found["refused_duty_shares_missed_duty_form"] = refused_duties(spans)
        row = {"corpus": name, "rationales": len(texts), "spans": len(spans)}
        for k, hits in found.items():
            row[k] = len(hits)
            row[k + "_kept"] = sum(1 for e in hits if not e.excluded)
            shown[k] += [(name, e) for e in hits[:opts.examples]]
        rows.append(row)
    print_table(rows, list(rows[0]), name="audit")
    for k, hits in shown.items():
        for name, e in hits:
            print(f"{k}  [{name}]  {e.text!r} -> {e.norm!r} ({e.polarity}{', ' + e.excluded if e.excluded else ''})")
    save_results("normal_form_audit")


if __name__ == "__main__":
    main()
