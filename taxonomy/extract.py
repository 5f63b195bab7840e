"""Finding value expressions in moral rationales with spaCy.

One pipeline object: the trained English pipeline (tagger, parser, lemmatizer; NER is not
needed) plus the ``value_expressions`` component below, which combines a lexicon
``Matcher``/``PhraseMatcher`` with dependency rules. Each expression records which rule fired:

- ``explicit_value``: a value named outright, with its object ("her privacy", "respect for your wife");
- ``evaluative``: an evaluative word, read as the value at stake ("you were rude", "so selfish");
- ``value_verb``: an act that honours or breaks a value ("not respecting her boundaries");
- ``right``: a right or permission ("it's your right to decide", "you're entitled to");
- ``duty``: an obligation ("you should have told her", "you owe her an apology");
- ``norm``: a stated priority ("family comes first", "her privacy matters");
- ``open_noun`` / ``open_verb`` / ``open_adj`` (with ``open_words``): any other noun, verb or
  adjective, as a candidate that only the learned span filter can admit ("humiliate", "remorse").

Polarity is ``upheld`` or ``violated``: the lexicon sign of the word, flipped by negation
("not", "never", "no respect", "lack of"); a duty in the "should have + participle" form says
the duty was not met, so it is ``violated``.

The extractor is one swappable component: anything with ``extract(judgments) -> list[Expression]``
(e.g. an LLM-based extractor) can stand in for :class:`ValueExtractor` in the builder.
"""
from __future__ import annotations

import logging
import re
from contextlib import contextmanager
from typing import Iterable, Iterator, Protocol, Sequence

from spacy.language import Language
from spacy.matcher import Matcher, PhraseMatcher
from spacy.tokens import Doc, Span, Token

from moralgap.errors import ConfigError
from moralgap.models import resolve_spacy_model
from moralgap.progress import progress
from moralgap.records import Expression

from .chunking import ChunkPlan
from .hyphens import COMPONENT as HYPHENS, is_word, merge_hyphenated
from .imperative import is_command, known_verbs
from .lexicon import Sense, ValueLexicon
from .value_filter import IDIOMS, KIN_AND_PEOPLE, OBJECTS_AND_PLACES, OPEN_CANDIDATE, SpanSyntax, exclusion_reason, in_list

log = logging.getLogger(__name__)

COMPONENT = "value_expressions"
# Priority when two rules claim the same anchor token: the more specific reading wins.
RULE_PRIORITY = {"right": 0, "duty": 1, "norm": 2, "explicit_value": 3, "value_verb": 4, "evaluative": 5}
NEGATORS = {"not", "n't", "never", "no", "nothing", "nobody", "none", "neither", "nor", "without", "hardly", "zero"}
NEGATING_HEADS = {"lack", "absence", "disregard", "violation", "breach", "lose", "fail", "refuse", "ignore", "disrespect"}
DUTY_MODALS = {"should", "ought", "must", "shall"}
DUTY_SEMI = {"need", "have", "supposed", "obligate", "obliged", "expect", "require"}
NORM_VERBS = {"come": {"first"}, "matter": None, "trump": None, "outweigh": None}
NORM_ADJ = {"important", "everything", "priority", "paramount", "sacred", "essential"}
RIGHT_WORDS = {"right", "entitle", "entitled", "allow", "allowed", "free", "prerogative", "permission"}
SUBJECT_DEPS = {"nsubj", "nsubjpass", "expl"}
OBJECT_DEPS = {"dobj", "pobj", "attr", "dative", "oprd", "xcomp", "ccomp", "acomp"}
DROP_FROM_NORM = {"DET", "PRON", "PUNCT", "AUX", "PART", "CCONJ", "SCONJ", "INTJ", "SPACE", "NUM", "X"}
MAX_SPAN = 8
WORD_EDGES = re.compile(r"^[^\w']+|[^\w']+$")
# People and things: a lexicon word among them ("family", "money") does not make "told my
# family" a judgment.
PLAIN_NOUNS = KIN_AND_PEOPLE | OBJECTS_AND_PLACES
ABSTRACT_SUFFIXES = ("ness", "ity", "cy", "ance", "ence", "ism", "ship", "dom", "hood", "tion", "sion", "ment")
VERDICT_WORDS = {"nta", "yta", "esh", "nah", "info", "op"}
# Open words get rules of their own (the span filter weighs them apart from lexicon finds); the
# word lists read each as the rule for its part of speech reads it.
OPEN_RULE = {"NOUN": "open_noun", "VERB": "open_verb", "ADJ": "open_adj"}
READ_AS = {"open_noun": "explicit_value", "open_verb": "value_verb", "open_adj": "evaluative"}
# Verbs too light to name a duty on their own: "you need to know", "you have to say".
LIGHT_VERBS = {"be", "have", "do", "get", "go", "know", "say", "think", "see", "want", "make", "take", "let", "look",
               "find", "keep", "come", "put", "try", "use", "mean", "need", "feel", "understand", "realize", "read",
               "wait", "imagine", "guess", "bet", "like", "hope"}
INTENSIFIERS = {"so", "very", "really", "pretty", "too", "extremely", "incredibly", "super", "quite", "rather", "totally",
                "completely", "absolutely", "kinda", "kind", "bit", "little", "way", "just", "genuinely", "truly", "incredibly"}
COPULAS = {"be", "seem", "sound", "act", "feel", "look", "become", "get"}
# Adjectives that describe facts rather than evaluate anyone.
NON_EVALUATIVE = {"sure", "able", "glad", "fine", "okay", "ok", "true", "possible", "impossible", "likely", "unlikely",
                  "same", "different", "real", "other", "more", "much", "many", "enough", "clear", "old", "new", "big",
                  "little", "few", "whole", "only", "last", "first", "next", "own", "ready", "aware", "single", "married",
                  "pregnant", "due", "worth", "busy", "late", "full", "sorry", "afraid", "curious", "certain", "free",
                  "available", "young", "older", "younger", "home", "alone", "here", "there", "right", "wrong",
                  "better", "worse", "best", "worst", "sad", "mad", "angry", "upset", "allowed", "able", "interested",
                  "surprised", "confused", "likely", "important", "necessary", "similar", "normal", "common"}
# Lexicon words that are something else in some uses: "pretty petty", "I mean", "all right",
# and "regarding", a preposition however the tagger reads it ("boundaries regarding discipline"
# made a value "Regarding" of the noun "regard" on LLM rationales).
AMBIGUOUS = {("pretty", "ADV"), ("mean", "VERB"), ("right", "ADJ"), ("right", "ADV"), ("right", "INTJ"),
             ("fair", "ADV"), ("kind", "ADV"), ("kind", "NOUN"), ("fine", "ADJ"), ("cheap", "ADV"),
             ("regarding", "VERB"), ("regarding", "ADP")}

if not Doc.has_extension("value_expressions"):
    Doc.set_extension("value_expressions", default=None)


def _is_negated(tok: Token) -> bool:
    """Negation on the token, its governing verb, or a 'lack of'/'no' construction."""
    def has_neg_child(t: Token) -> bool:
        return any(c.dep_ == "neg" or (c.lower_ in NEGATORS and c.dep_ in ("det", "advmod", "neg")) for c in t.children)

    if has_neg_child(tok):
        return True
    head = tok.head
    # "you were not rude": neg hangs off the copula; "not respecting her boundaries": off the verb.
    # Not plain nsubj: in "her privacy is not his business" the negation belongs to the predicate.
    if tok.dep_ in ("acomp", "attr", "dobj", "xcomp", "oprd", "nsubjpass", "conj") and head is not tok:
        if has_neg_child(head):
            return True
        if head.lemma_.lower() in NEGATING_HEADS:
            return True
    if tok.dep_ == "pobj" and head.dep_ == "prep":
        gov = head.head
        if gov.lemma_.lower() in NEGATING_HEADS or has_neg_child(gov):
            return True
    if tok.i > 0 and tok.doc[tok.i - 1].lower_ in ("not", "never", "without"):
        return True
    return False


def _clean(word: str) -> str:
    # Markdown and emphasis glued to a word ("founded~~.", "owes*") are not part of it.
    return WORD_EDGES.sub("", word)


def _norm_of(tokens: Iterable[Token]) -> str:
    # A token may come twice (a phrase match and its own object: "take advantage"); read each once.
    unique = sorted({t.i: t for t in tokens}.values(), key=lambda t: t.i)
    words = [_clean(t.lemma_.lower() if t.pos_ != "PROPN" else t.text.lower()) for t in unique
             if t.pos_ not in DROP_FROM_NORM and not t.is_punct and t.lower_ not in NEGATORS]
    return " ".join(w for w in words if w and w != "-PRON-")


def _judgment_word(tok: Token) -> str:
    """A one-word judgment's normal form. A participle said of someone keeps its form:
    "entitled" judges a person where its lemma "entitle" grants a right, and "controlling" is
    not "control"; the verb itself ("we talked") is read by its lemma."""
    return _clean(tok.lower_ if _describes(tok) else tok.lemma_.lower())


# Where a participle describes its subject, as an adjective would.
DESCRIBING_ROLES = ("acomp", "amod", "attr", "oprd")
# A participle with one of these is an act: an object, or a verb it leads to ("forced to accept").
ACTING_DEPS = ("dobj", "xcomp", "ccomp")
PASSIVE_DEPS = ("auxpass", "nsubjpass", "agent")


def _describes(tok: Token) -> bool:
    """A participle said of someone: "so controlling", "manipulative and controlling", "calling
    your kids spoiled", "parents being controlling about weddings". "Spoiled" said of a child is
    not "spoil" (a surprise), and "controlling" is not "control"."""
    if tok.tag_ not in ("VBN", "VBG"):
        return False
    role = _role(tok)
    if role.dep_ in DESCRIBING_ROLES:
        return True
    if _acts(tok):
        return False
    if tok.tag_ == "VBN":
        return role.dep_ == "xcomp"
    return any(c.dep_ == "aux" and c.lower_ == "being" for c in role.children)


def _acts(tok: Token) -> bool:
    """A verb that reports an act, whatever its place: with an object ("killing the whale
    population", "not listening to the people"), a verb it leads to ("forced to accept"), or as
    a passive, its own or its first conjunct's ("needs to be upheld and respected", "regulated
    by the state"). "About" says what a trait is shown in, not what is acted on."""
    if any(c.dep_ in ACTING_DEPS for c in tok.children):
        return True
    if any(c.dep_ in PASSIVE_DEPS for t in (tok, _role(tok)) for c in t.children):
        return True
    obj = _object_tokens(tok)
    return bool(obj) and obj[0].lower_ != "about"


def _phrase_norm(span: Span) -> str:
    """A lexicon phrase's normal form: its words' lemmas, but pronouns as written ("there for
    her", not the lemma "there for she")."""
    return " ".join(w for w in (_clean(t.lower_ if t.pos_ == "PRON" else t.lemma_.lower()) for t in span) if w)


# Words that only lead into what follows them: a span cut after one ("help you and your",
# "talk with your" once MAX_SPAN or a left-out noun ends it) shows a fragment.
DANGLING_DEPS = {"poss", "det", "predet", "cc", "preconj"}
CONJUNCTIONS = {"cc", "preconj"}


def _word_count(doc: Doc, start: int, end: int) -> int:
    """Words as written, not tokens: "well-being" and "baby's" are one word each."""
    return sum(1 for i in range(start, end) if i == start or doc[i - 1].whitespace_)


def _clip(doc: Doc, start: int, end: int, *, words: bool = False) -> tuple[int, int]:
    start, end = max(0, start), min(len(doc), end)
    if (_word_count(doc, start, end) if words else end - start) > MAX_SPAN:
        end = start + MAX_SPAN
    cut = end
    while end - start > 1 and _dangles(doc[end - 1], end):
        end -= 1
    # A preposition left at the end by that cut has lost its object too ("conversations with");
    # one the rule ended on ("side with") is kept.
    while end < cut and end - start > 1 and doc[end - 1].dep_ == "prep" and doc[end - 1].head.i < end - 1:
        end -= 1
    return start, end


DOUBLE_QUOTES = {'"', "“", "”", "''", "``", "„"}


def _quoted(doc: Doc, start: int, end: int, anchor: int) -> bool:
    """The span, or its head word alone ('this "punishment"'), has quotation marks of its own:
    words reported, mentioned or held at a distance rather than the writer's own."""
    def wrapped(a: int, b: int) -> bool:
        return a > 0 and b < len(doc) and doc[a - 1].text in DOUBLE_QUOTES and doc[b].text in DOUBLE_QUOTES

    return wrapped(start, end) or wrapped(anchor, anchor + 1)


def _is_value_word(tok: Token, lexicon: ValueLexicon) -> bool:
    return bool(lexicon.lookup(tok.lower_) or lexicon.lookup(tok.lemma_))


def _names_a_value(span: Span, anchor: Token, lexicon: ValueLexicon) -> bool:
    """The last noun of the span, its object, is a value word: "should ban discrimination", not
    "should ban cosmetic surgery" or "should abolish safe spaces" (the value word only modifies)."""
    nouns = [t for t in span if t.pos_ in ("NOUN", "PROPN") and t.i != anchor.i]
    return bool(nouns) and _is_value_word(nouns[-1], lexicon)


def _dangles(tok: Token, end: int) -> bool:
    if tok.dep_ in CONJUNCTIONS:
        return True
    # A determiner or possessive pronoun whose noun was cut off; a possessive noun ("your
    # fiance's") is a word of its own.
    return tok.dep_ in DANGLING_DEPS and tok.pos_ in ("DET", "PRON") and tok.head.i >= end


def _role(tok: Token) -> Token:
    """The token whose dependency says what ``tok`` does in the sentence: a conjunct does what
    the first of its conjuncts does ("secret" in "extended and secret drama" describes the drama
    as "extended" does)."""
    while tok.dep_ == "conj" and tok.head is not tok:
        tok = tok.head
    return tok


def _governed_by(tok: Token) -> dict:
    """What the value filter reads of the word's place in the sentence: the dependency of the
    token that says what it does (``_role``), and the lemma and part of speech of its head."""
    role = _role(tok)
    return {"head_dep": role.dep_, "governor": role.head.lemma_.lower(), "governor_pos": role.head.pos_}


# Nouns that only say how much or what sort of their "of" phrase there is: the object of "put up
# some kind of a barrier" is the barrier ("kind" read as the value word made "should put kind").
CLASSIFIER_NOUNS = {"kind", "sort", "type", "lot", "lots", "bit", "piece", "couple", "bunch", "amount", "number"}


def _object_tokens(head: Token) -> list[Token]:
    """The head's direct object (or prepositional object) with its compounds, no determiners."""
    for c in head.children:
        if c.dep_ in ("dobj", "attr", "oprd"):
            if c.lemma_.lower() in CLASSIFIER_NOUNS:
                inner = next((p for of in c.children if of.dep_ == "prep" and of.lower_ == "of"
                              for p in of.children if p.dep_ == "pobj"), None)
                c = inner if inner is not None else c
            return _with_modifiers(c)
    for c in head.children:
        if c.dep_ == "prep" and c.lower_ in ("for", "of", "to", "toward", "towards", "about"):
            for p in c.children:
                if p.dep_ == "pobj":
                    return [c, p]
    return []


# A subject further back than this ("her privacy, which she guards, was invaded") would make
# the span a clause; the verb is then read alone, as before.
PASSIVE_REACH = 4


def _passive_subject(verb: Token) -> list[Token]:
    """What a passive verb is done to, read as its object: "her privacy is being invaded" is
    "invade privacy", as "he invaded her privacy" is (alone, "invaded" lay near "grace"). A
    pronoun subject says nothing the object slot needs ("she was betrayed")."""
    subj = next((c for c in verb.children if c.dep_ == "nsubjpass" and c.pos_ in ("NOUN", "PROPN")), None)
    if subj is None or verb.i - subj.i > PASSIVE_REACH:
        return []
    return _with_modifiers(subj)


def _with_modifiers(noun: Token) -> list[Token]:
    """A noun with the compounds, adjectives and possessors that say which one it is, and the
    unit of an age ("a 16 year old" is `year old`, not `old`; the number itself is dropped)."""
    return [t for t in noun.subtree if t.i - noun.i < 4 and (t.dep_ in ("compound", "amod", "poss")
                                                              or (t.dep_ == "npadvmod" and t.head.lower_ == "old"))
            or t is noun]


# Nouns that, said as verbs, mean the idiom they start: to "guilt" someone, or to "guilt trip"
# them, is to press them with guilt, not to feel it (read as the noun, it lay beside "remorse").
VERBED_NOUNS = {"guilt": "trip"}


def _verbed_noun(tok: Token) -> tuple[int, str] | None:
    """Where a verbed noun's idiom ends and its normal form ("guilt trip"), or ``None``. The
    parser reads "guilt trip you" as two nouns, so the idiom's second word marks it too."""
    follower = VERBED_NOUNS.get(tok.lemma_.lower())
    if follower is None:
        return None
    said = tok.i + 1 < len(tok.doc) and tok.nbor(1).lemma_.lower() == follower
    if not said and tok.pos_ != "VERB":
        return None
    return tok.i + 1 + int(said), f"{tok.lemma_.lower()} {follower}"


def _particle(verb: Token, covered: set[int]) -> Token | None:
    """A phrasal verb's particle: "stand up" (for someone) and "back down" are not "stand" and
    "back" (read alone, "stood up for her" and "standing on each other's shoulders" were one
    value, "Stand"). Only pronouns may stand between ("call him out"): a noun there ("pick your
    partner up") is an open word of its own, and spans do not nest."""
    if verb.pos_ != "VERB":
        return None
    prt = next((c for c in verb.children if c.dep_ == "prt" and c.i > verb.i), None)
    if prt is None or not prt.is_alpha or any(i in covered for i in range(verb.i + 1, prt.i + 1)):
        return None
    if any(t.pos_ != "PRON" for t in verb.doc[verb.i + 1:prt.i]):
        return None
    return prt


def _open_reading(tok: Token, covered: set[int], verbed: tuple[int, str] | None) -> tuple[int, str, str]:
    """An open word's span end (a token index), normal form and rule."""
    if verbed:
        return (*verbed, "open_verb")
    lemma = tok.lemma_.lower()
    prt = _particle(tok, covered)
    if prt is not None:
        return prt.i + 1, f"{lemma} {prt.lower_}", OPEN_RULE[tok.pos_]
    return tok.i + 1, lemma, OPEN_RULE[tok.pos_]


def _one_phrase(span: Span) -> bool:
    """A lexicon phrase is a phrase in the sentence too: its words hang from one place. Words
    that only stand side by side belong to different phrases ("figure out | her own flat" is
    not "out her"). A closing "to" or preposition may hang from what follows, which it
    introduces ("allowed to | change")."""
    last = span[-1]
    opens = last.pos_ in ("PART", "ADP", "SCONJ") and last.head.i >= span.end
    words = span[:-1] if opens else span
    return len({t.head.i for t in words if not span.start <= t.head.i < span.end or t.head.i == t.i}) == 1


# What may fill the slot of a lexicon phrase's determiner or possessive: "cross a line" is
# also "crossing the line", "break a promise" also "broke your promise".
DETERMINER_SLOT = {"TAG": {"IN": ["DT", "PRP$"]}, "LOWER": {"NOT_IN": ["no", "neither"]}}


def _inflected_phrases(nlp: Language, phrases: Sequence[str]) -> Matcher:
    """Lexicon phrases led by a verb in its base form, matched in any tense and with any
    determiner, each under its own key. The lexicon lists a phrase once or in a form or two; in
    comments the verb takes every form ("crossing the line", "pays rent"). Only the verb is read
    by its lemma and only a determiner or possessive after it is a free slot: other words stay
    as written, so a phrase does not grow to mean more than it says."""
    matcher = Matcher(nlp.vocab)
    # The phrases are tagged out of context, without this component (it is being made).
    for phrase, doc in zip(phrases, nlp.pipe(phrases)):
        head = doc[0]
        # Only a phrase listed in the verb's base form: a past form listed alone ("stood up":
        # left waiting) means that form, not the verb in every tense ("standing up for her").
        if len(doc) < 2 or head.pos_ not in ("VERB", "AUX") or head.tag_ not in ("VB", "VBP"):
            continue
        pattern = [{"LEMMA": head.lemma_.lower(), "POS": {"IN": ["VERB", "AUX"]}}]
        pattern += [dict(DETERMINER_SLOT) if t.tag_ in ("DT", "PRP$") else {"LOWER": t.lower_} for t in doc[1:]]
        matcher.add(phrase, [pattern])
    return matcher


class ValueExpressionComponent:
    """spaCy component writing ``doc._.value_expressions`` as a list of dicts."""

    def __init__(self, nlp: Language, lexicon: ValueLexicon, open_words: bool = False):
        self.lexicon = lexicon
        # Open words (see ``_open_words``): every content word no rule claimed becomes a
        # candidate, for the learned span filter to accept or drop.
        self.open_words = open_words
        self.verbs = known_verbs(nlp)
        self.matcher = Matcher(nlp.vocab)
        words = lexicon.single_words()
        self.matcher.add("LEX_LOWER", [[{"LOWER": {"IN": words}}]])
        self.matcher.add("LEX_LEMMA", [[{"LEMMA": {"IN": words}}]])
        self.matcher.add("RIGHT", [
            [{"LEMMA": "right", "POS": "NOUN"}, {"LOWER": "to"}, {"POS": {"IN": ["VERB", "AUX"]}}],
            [{"LOWER": {"IN": ["entitled", "allowed", "free"]}}, {"LOWER": "to"}],
            [{"LOWER": "within"}, {"LOWER": {"IN": ["your", "her", "his", "their", "op's"]}}, {"LOWER": "rights"}],
            [{"LEMMA": {"IN": ["prerogative", "permission"]}}],
        ])
        self.phrases = PhraseMatcher(nlp.vocab, attr="LOWER")
        # Patterns are tokenized as the docs they match are: hyphenated words whole.
        self.phrases.add("LEX_PHRASE", [merge_hyphenated(nlp.make_doc(p)) for p in lexicon.phrases()])
        self.inflected = _inflected_phrases(nlp, lexicon.phrases())
        self.idioms = PhraseMatcher(nlp.vocab, attr="LOWER")
        self.idioms.add("IDIOM", [merge_hyphenated(nlp.make_doc(p)) for p in sorted(IDIOMS)])

    def __call__(self, doc: Doc) -> Doc:
        found: list[dict] = []
        claimed: dict[int, int] = {}  # anchor token index -> index in found
        in_idiom = {i for _, start, end in self.idioms(doc) for i in range(start, end)}

        def add(rule: str, anchor: Token, start: int, end: int, norm: str, sign: int, value: str | None,
                self_state: bool = False, words: bool = False):
            if not norm:
                return
            start, end = _clip(doc, start, end, words=words)
            polarity = "upheld" if sign > 0 else "violated"
            span = doc[start:end]
            item = {"rule": rule, "start_tok": start, "end_tok": end, "norm": norm,
                    "polarity": polarity, "lexicon_value": value, "anchor": anchor.i,
                    # What the value filter reads about the span's syntax (see value_filter.py).
                    # A plain dict: docs cross process boundaries (n_process > 1) as msgpack.
                    "syntax": dict(
                        head_pos=anchor.pos_, **_governed_by(anchor),
                        negated=any(t.dep_ == "neg" or t.lower_ in NEGATORS for t in span) or _is_negated(anchor),
                        value_words=sum(1 for t in span if t.i != anchor.i and t.pos_ in ("NOUN", "VERB", "ADJ", "ADV")
                                        and not in_list(t.lemma_.lower(), PLAIN_NOUNS) and _is_value_word(t, self.lexicon)),
                        # Only a duty's object decides anything (a stance, value_filter.py).
                        object_value=rule == "duty" and _names_a_value(span, anchor, self.lexicon),
                        self_state=self_state, idiom=anchor.i in in_idiom, quoted=_quoted(doc, start, end, anchor.i))}
            if anchor.i in claimed:
                other = found[claimed[anchor.i]]
                if RULE_PRIORITY[rule] >= RULE_PRIORITY[other["rule"]]:
                    return
                found[claimed[anchor.i]] = item
                return
            claimed[anchor.i] = len(found)
            found.append(item)

        self._rights(doc, add)
        self._duties(doc, add)
        self._norms(doc, add)
        self._lexicon(doc, add)
        self._abstract_nouns(doc, add)
        self._advice(doc, add)
        self._judged_character(doc, add)
        kept = self._drop_contained(found)
        if self.open_words:
            kept = sorted(kept + self._open_words(doc, kept, in_idiom), key=lambda x: (x["start_tok"], x["end_tok"]))
        doc._.value_expressions = kept
        return doc

    @staticmethod
    def _drop_contained(found: list[dict]) -> list[dict]:
        """One stretch of text, one expression: "no respect for your wife" is not also "your wife"."""
        keep = []
        by_size = sorted(found, key=lambda x: (-(x["end_tok"] - x["start_tok"]), RULE_PRIORITY[x["rule"]]))
        for item in by_size:
            inside = any(k["start_tok"] <= item["start_tok"] and item["end_tok"] <= k["end_tok"] for k in keep)
            if not inside:
                keep.append(item)
        return sorted(keep, key=lambda x: (x["start_tok"], x["end_tok"]))

    # -- rules -----------------------------------------------------------------------------
    def _value_of(self, tokens: Sequence[Token]) -> str | None:
        for t in tokens:
            for key in (t.lower_, t.lemma_.lower()):
                senses = self.lexicon.lookup(key)
                if senses:
                    return senses[0].value
        return None

    def _rights(self, doc: Doc, add) -> None:
        for match_id, start, end in self.matcher(doc):
            if doc.vocab.strings[match_id] != "RIGHT":
                continue
            anchor = doc[start]
            within = anchor.lower_ == "within"
            verb = doc[end - 1] if doc[end - 1].pos_ in ("VERB", "AUX") else None
            if verb is None and end < len(doc) and doc[end].pos_ in ("VERB", "AUX"):
                verb = doc[end]
            # "within your rights to leave" is the right to leave; "within your rights" alone
            # still claims one, so it is no bare (fragment) "right".
            if verb is None and within and end + 1 < len(doc) and doc[end].lower_ == "to" \
                    and doc[end + 1].pos_ in ("VERB", "AUX"):
                verb = doc[end + 1]
            tail = [verb, *_object_tokens(verb)] if verb is not None else []
            stop = max([end] + [t.i + 1 for t in tail])
            norm = "right to " + _norm_of(tail) if tail else ("within rights" if within else "right")
            sign = -1 if _is_negated(anchor) or (anchor.head is not anchor and _is_negated(anchor.head)) else 1
            add("right", anchor, start, stop, norm.strip(), sign, self._value_of(tail) or "Autonomy")

    def _duties(self, doc: Doc, add) -> None:
        for tok in doc:
            lemma = tok.lemma_.lower()
            verb = None
            failed = False
            if lemma in DUTY_MODALS and tok.dep_ == "aux" and tok.head.pos_ in ("VERB", "AUX"):
                verb = tok.head
                # "should have told": the modal, then perfect "have", then a participle
                perfect = any(c.dep_ == "aux" and c.lemma_ == "have" and c.i > tok.i for c in verb.children) and verb.tag_ == "VBN"
                # "should've told" is the same words, but spaCy leaves "'ve" its own lemma, and
                # with a curly apostrophe reads it as a noun and "told" as a past tense.
                perfect = perfect or (verb.tag_ in ("VBN", "VBD")
                                      and any(c.lower_ in ("'ve", "’ve") and c.i > tok.i for c in verb.children))
                # "must have hurt" guesses at what happened; only "should/ought have" is a duty missed.
                if perfect and lemma == "must":
                    continue
                failed = perfect
            elif lemma in DUTY_SEMI and tok.pos_ in ("VERB", "AUX", "ADJ") and tok.i + 1 < len(doc) and doc[tok.i + 1].lower_ == "to":
                verb = next((c for c in tok.children if c.dep_ == "xcomp" and c.pos_ in ("VERB", "AUX")), None)
            elif lemma == "owe" and tok.pos_ == "VERB":
                obj = [c for c in tok.children if c.dep_ == "dobj" and not c.is_punct]
                if obj:
                    o = obj[0]
                    sign = -1 if _is_negated(tok) else 1
                    add("duty", tok, tok.i, o.i + 1, f"owe {o.lemma_.lower()}", sign, self._value_of([o]) or "Responsibility")
                continue
            if verb is None:
                continue
            obj = _object_tokens(verb)
            if verb.lemma_.lower() in LIGHT_VERBS and not [t for t in obj if t.pos_ != "PRON"]:
                continue
            # "needs to grow up", "should cut them off": the duty is the phrasal verb, as in advice.
            prt = [c for c in verb.children if c.dep_ == "prt" and c.is_alpha]
            span_tokens = [tok, verb, *prt, *obj]
            start = min(t.i for t in span_tokens)
            stop = max(t.i for t in span_tokens) + 1
            # "you shouldn't have to sell it", "doesn't need to pay": the negation hangs on "have"
            # or "need", outside the span, and denies the duty as "should not" does.
            negated = any(c.dep_ == "neg" for c in verb.children) or (
                lemma in DUTY_SEMI and any(c.dep_ == "neg" for c in tok.children))
            sign = -1 if (failed or negated) else 1
            norm = ("should " + _norm_of([verb, *prt, *obj])).strip()
            value = self._value_of([verb, *obj]) or "Responsibility"
            add("duty", verb, start, stop, norm, sign, value)

    def _norms(self, doc: Doc, add) -> None:
        for tok in doc:
            lemma = tok.lemma_.lower()
            subj = None
            if lemma in NORM_VERBS and tok.pos_ in ("VERB", "AUX"):
                needs = NORM_VERBS[lemma]
                if needs and not any(c.lower_ in needs for c in tok.children):
                    continue
                subj = next((c for c in tok.children if c.dep_ in ("nsubj", "nsubjpass") and c.lower_ not in VERDICT_WORDS), None)
                first = next((c for c in tok.children if needs and c.lower_ in needs), None)
                tail = tok.lower_ + (f" {first.lower_}" if first is not None else "")
                end_tok = first if first is not None else tok
            elif tok.lower_ in NORM_ADJ and tok.dep_ in ("acomp", "attr") and tok.head.lemma_ == "be":
                subj = next((c for c in tok.head.children if c.dep_ == "nsubj"), None)
                tail = "is " + tok.lower_
                end_tok = tok
            else:
                continue
            if subj is None or subj.pos_ not in ("NOUN", "PROPN", "ADJ") or subj.lower_ in VERDICT_WORDS:
                continue
            subj_tokens = [t for t in subj.subtree if t.i <= subj.i or t.dep_ in ("prep", "pobj")]
            start = min(t.i for t in subj_tokens)
            stop = max(end_tok.i, *[t.i for t in subj_tokens]) + 1
            # A long subject loses words from its front, not the priority it is given: "own
            # schooling and social life is also important", not "... social life is also"; and
            # a span never begins inside a word ("well-being", not "-being").
            while start < subj.i and _word_count(doc, start, stop) > MAX_SPAN:
                start += 1
            while start > 0 and not doc[start - 1].whitespace_:
                start -= 1
            sign = -1 if _is_negated(tok) else 1
            subject = " ".join(t.lower_ for t in subj_tokens if t.pos_ not in DROP_FROM_NORM and t.i >= start)
            add("norm", subj, start, stop, f"{subject} {tail}".strip(), sign, self._value_of([subj]), words=True)

    def _lexicon(self, doc: Doc, add) -> None:
        # (start, end, the lexicon term when the match says which; else the span is looked up)
        hits: list[tuple[int, int, str]] = []
        for match_id, start, end in self.matcher(doc):
            if doc.vocab.strings[match_id] in ("LEX_LOWER", "LEX_LEMMA"):
                hits.append((start, end, ""))
        hits.extend((s, e, "") for _, s, e in self.phrases(doc))
        hits.extend((s, e, doc.vocab.strings[m]) for m, s, e in self.inflected(doc))
        covered: set[int] = set()
        # Longer phrases first, so "take advantage" beats "advantage"; at one stretch, a phrase
        # as written before the same phrase matched through its inflection.
        for start, end, term in sorted(set(hits), key=lambda h: (-(h[1] - h[0]), h[0], h[2])):
            if any(i in covered for i in range(start, end)):
                continue
            if end - start > 1 and not _one_phrase(doc[start:end]):
                continue
            span = doc[start:end]
            senses = self.lexicon.lookup(term) if term else \
                self.lexicon.lookup(span.text) or self.lexicon.lookup(" ".join(t.lemma_ for t in span))
            anchor = span.root
            if len(span) == 1 and anchor.pos_ in ("VERB", "AUX") and anchor.lemma_.lower() != anchor.lower_:
                # An inflected verb is not the noun it is spelled like: "standing" in "standing
                # up for her" is not the value noun "standing"; a word sense of it may be.
                senses = [s for s in senses if s.kind != "noun" or self.lexicon.lookup(anchor.lemma_)]
            if not senses:
                continue
            covered.update(range(start, end))
            sense = senses[0]
            if len(span) == 1 and (anchor.lower_, anchor.pos_) in AMBIGUOUS:
                continue
            if len(span) == 1 and anchor.pos_ == "PRON" and anchor.dep_ not in ("attr", "acomp", "oprd"):
                # "yours" claims ownership only as what something is ("the inheritance is
                # yours"); "a situation like yours" claims nothing.
                continue
            negated = _is_negated(anchor)
            sign = sense.sign * (-1 if negated else 1)
            names_value = sense.kind == "noun" and (len(span) > 1 or anchor.pos_ in ("NOUN", "PROPN", "ADJ", "X"))
            if names_value:
                self._explicit(doc, span, anchor, sign, sense, add)
            elif anchor.pos_ == "VERB" and anchor.dep_ not in ("amod", "acomp") and (_acts(anchor) or not _describes(anchor)):
                obj = _object_tokens(anchor) or _passive_subject(anchor)
                s = min([span.start, *[t.i for t in obj]])
                e = max([span.end, *[t.i + 1 for t in obj]])
                neg_tok = next((c for c in anchor.children if c.dep_ == "neg" and c.i < anchor.i), None)
                if neg_tok is not None and anchor.i - neg_tok.i <= 3:
                    s = min(s, neg_tok.i)
                # Verb first, as in the active voice, whichever side its object was written on.
                norm = " ".join(w for w in (_norm_of(span), _norm_of([t for t in obj if t not in span])) if w)
                add("value_verb", anchor, s, e, norm or _phrase_norm(span), sign, sense.value)
            else:
                self._evaluative(doc, span, anchor, sign, sense, add)

    def _advice(self, doc: Doc, add) -> None:
        """Imperative advice ("get a prenup", "call him out") is a duty the commenter prescribes."""
        for sent in doc.sents:
            if not is_command(sent, self.verbs):
                continue
            root = sent.root
            obj = _object_tokens(root)
            if root.lemma_.lower() in LIGHT_VERBS and not [t for t in obj if t.pos_ != "PRON"]:
                continue
            prt = [c for c in root.children if c.dep_ == "prt"]
            tokens = [root, *prt, *obj]
            start = min(t.i for t in tokens)
            neg = next((c for c in root.children if c.dep_ == "neg"), None)
            if neg is not None:
                start = min(start, neg.i)
                for c in root.children:
                    if c.dep_ == "aux" and c.i < root.i:
                        start = min(start, c.i)
            stop = max(t.i for t in tokens) + 1
            # "don't lie" is the duty "shouldn't lie" states: the negation goes in the sign alone,
            # so both say one thing to the build ("lie", refused) and share a vector and a value.
            sign = -1 if neg is not None else 1
            add("duty", root, start, stop, ("should " + _norm_of(tokens)).strip(), sign, self._value_of(tokens))

    def _judged_character(self, doc: Doc, add) -> None:
        """Copular evaluations outside the lexicon: "your sister is nuts", "she's being uptight".

        The lexicon gives no sign here, so polarity only records negation (``upheld`` unless negated).
        """
        for tok in doc:
            if tok.pos_ != "ADJ" or tok.dep_ not in ("acomp", "attr", "oprd") or tok.lower_ in NON_EVALUATIVE:
                continue
            head = tok.head
            if head.lemma_.lower() not in COPULAS:
                continue
            subj = next((c for c in head.children if c.dep_ in ("nsubj", "nsubjpass")), None)
            if subj is None or subj.pos_ not in ("PRON", "NOUN", "PROPN") or subj.lower_ in ("there", "which", "what"):
                continue
            mods = [c for c in tok.lefts if c.dep_ in ("advmod", "neg") and tok.i - c.i <= 2]
            start = min([subj.i, *[m.i for m in mods]]) if tok.i - subj.i <= 5 else min([tok.i, *[m.i for m in mods]])
            sign = -1 if _is_negated(tok) else 1
            add("evaluative", tok, start, tok.i + 1, _judgment_word(tok), sign, None,
                # The writer's own state or plan ("I would be very vocal") judges nobody; a
                # lexicon word about oneself ("I was rude") is found by its own rule instead.
                self_state=subj.lower_ in ("i", "we"))

    def _abstract_nouns(self, doc: Doc, add) -> None:
        """Abstract nouns the lexicon does not list ("her autonomy", "a lack of punctuality").

        Values are mostly named by abstract nouns, and English marks those with a few
        suffixes; this is how values no lexicon lists get into the taxonomy. The value filter
        sets apart the abstract nouns that name no value ("the situation", "a conversation").
        """
        for tok in doc:
            if tok.pos_ != "NOUN" or not is_word(tok) or len(tok.lower_) < 6:
                continue
            lemma = tok.lemma_.lower()
            if not lemma.endswith(ABSTRACT_SUFFIXES) or _is_value_word(tok, self.lexicon):
                continue
            sense = Sense(value=None, sign=1, kind="noun")
            self._explicit(doc, doc[tok.i:tok.i + 1], tok, -1 if _is_negated(tok) else 1, sense, add)

    def _open_words(self, doc: Doc, kept: list[dict], in_idiom: set[int]) -> list[dict]:
        """Candidates that no lexicon lists: each noun, verb and adjective outside the spans the
        rules found, read as one word ("respect", "humiliate", "petty").

        This is how a value the lexicon lacks gets into the taxonomy at all. Most such words name
        no value ("car", "drive"); they are marked ``open_candidate`` and the learned span filter,
        which reads what a word means, keeps only those it judges value expressions and drops the
        rest (with no filter, all of them). Word lists only remove words that are never values.
        """
        covered = {i for k in kept for i in range(k["start_tok"], k["end_tok"])}
        out = []
        for tok in doc:
            lemma = tok.lemma_.lower()
            verbed = _verbed_noun(tok) if tok.i not in covered else None
            if verbed is not None:
                covered.update(range(tok.i + 1, verbed[0]))
            if tok.i in covered or tok.i in in_idiom or tok.pos_ not in OPEN_RULE or not is_word(tok) or len(lemma) < 3 or tok.is_stop \
                    or in_list(lemma, PLAIN_NOUNS) or lemma in LIGHT_VERBS or lemma in NON_EVALUATIVE or lemma in VERDICT_WORDS \
                    or tok.dep_ == "compound":
                continue
            start = tok.i
            neg = next((c for c in tok.children if c.dep_ == "neg" and 0 < tok.i - c.i <= 3), None)
            if neg is not None and not any(i in covered for i in range(neg.i, tok.i)):
                start = neg.i
            negated = neg is not None or _is_negated(tok)
            end, norm, rule = _open_reading(tok, covered, verbed)
            out.append({"rule": rule, "start_tok": start, "end_tok": end, "norm": norm,
                        "polarity": "violated" if negated else "upheld", "lexicon_value": None, "anchor": tok.i,
                        "syntax": dict(head_pos="VERB" if verbed else tok.pos_, **_governed_by(tok),
                                       negated=negated, value_words=0, quoted=_quoted(doc, start, end, tok.i))})
        return out

    def _explicit(self, doc: Doc, span: Span, anchor: Token, sign: int, sense, add) -> None:
        left = [c for c in anchor.lefts if c.dep_ in ("poss", "amod", "compound", "det") and anchor.i - c.i <= 3]
        obj: list[Token] = []
        for c in anchor.rights:
            if c.i < span.end:
                continue
            if c.dep_ == "prep" and c.lower_ in ("for", "of", "to", "towards", "toward"):
                p = next((x for x in c.children if x.dep_ == "pobj"), None)
                if p is not None:
                    obj = [c, p]
                    break
        start = min([span.start, *[t.i for t in left]])
        end = max([span.end, *[t.i + 1 for t in obj]])
        norm_tokens = [t for t in left if t.dep_ in ("amod", "compound")] + list(span) + obj
        norm = _norm_of(norm_tokens) or span.text.lower()
        add("explicit_value", anchor, start, end, norm, sign, sense.value)

    def _evaluative(self, doc: Doc, span: Span, anchor: Token, sign: int, sense, add) -> None:
        start, end = span.start, span.end
        mods = {c.i for c in anchor.lefts if c.dep_ == "neg" or (c.dep_ == "advmod" and c.lower_ in INTENSIFIERS)}
        while start - 1 in mods:  # only modifiers right before the word: "so rude", not "Honestly, ... rude"
            start -= 1
        head = anchor.head
        if anchor.dep_ in ("acomp", "attr", "conj") and head is not anchor:
            subj = next((c for c in head.children if c.dep_ in SUBJECT_DEPS), None)
            if subj is not None and subj.i < anchor.i and anchor.i - subj.i <= 5:
                start = min(start, subj.i)
                neg = next((c for c in head.children if c.dep_ == "neg"), None)
                if neg is not None:
                    start = min(start, neg.i)
        add("evaluative", anchor, start, end, _phrase_norm(span) if len(span) > 1 else _judgment_word(anchor),
            sign, sense.value)


@Language.factory(COMPONENT, default_config={"lexicon_path": None, "open_words": False})
def make_value_expressions(nlp: Language, name: str, lexicon_path: str | None, open_words: bool):
    return ValueExpressionComponent(nlp, ValueLexicon.load(lexicon_path), open_words)


@contextmanager
def extracting_as_built(extractor, params: dict):
    """While in the block, ``extractor`` offers open words exactly when the taxonomy with these
    build ``params`` did, so an update or coding run finds the same kinds of spans as its build
    (taxonomies from before open words existed did not offer them); its own setting is restored
    after, since the caller may share it."""
    if not hasattr(extractor, "open_words"):
        yield extractor
        return
    before = extractor.open_words
    extractor.open_words = bool(params.get("open_words", False))
    try:
        yield extractor
    finally:
        extractor.open_words = before


class Extractor(Protocol):
    """What the taxonomy builder needs from an extractor; an LLM extractor can implement it too."""

    name: str

    def extract(self, judgments) -> list[Expression]: ...


def load_pipeline(model: str | None = None, lexicon_path: str | None = None, open_words: bool = False) -> Language:
    """The trained English pipeline (without NER) with the value-expression component added."""
    import spacy

    name = resolve_spacy_model(model)
    try:
        nlp = spacy.load(name, exclude=["ner"])
    except OSError as exc:
        raise ConfigError(f"cannot load spaCy pipeline {name!r}: {exc}") from None
    missing = {"parser", "lemmatizer"} - set(nlp.pipe_names)
    if missing:
        raise ConfigError(f"spaCy pipeline {name!r} lacks {', '.join(sorted(missing))}, which the value rules need")
    nlp.add_pipe(HYPHENS)
    nlp.add_pipe(COMPONENT, config={"lexicon_path": lexicon_path, "open_words": open_words})
    return nlp


class ValueExtractor:
    """Rule-and-lexicon extractor over spaCy.

    >>> ex = ValueExtractor()
    >>> [e.norm for e in ex.extract_texts([("r1", "You were rude and dishonest.")])]
    ['rude', 'dishonest']
    """

    name = "spacy-rules"

    def __init__(self, spacy_model: str | None = None, *, lexicon_path: str | None = None,
                 n_process: int = 1, batch_size: int = 256, open_words: bool = False):
        self.nlp = load_pipeline(spacy_model, lexicon_path, open_words)
        self.spacy_model = f"{self.nlp.meta.get('lang')}_{self.nlp.meta.get('name')}-{self.nlp.meta.get('version')}"
        self.lexicon = self.nlp.get_pipe(COMPONENT).lexicon
        self.n_process = n_process
        self.batch_size = batch_size

    @property
    def open_words(self) -> bool:
        """Whether words outside every rule are also offered, as ``open_candidate`` spans for the
        span filter to decide (a taxonomy records this; its updates extract the same way)."""
        return self.nlp.get_pipe(COMPONENT).open_words

    @open_words.setter
    def open_words(self, on: bool) -> None:
        self.nlp.get_pipe(COMPONENT).open_words = bool(on)

    def extract_texts(self, items: Sequence[tuple[str, str]], *, desc: str = "extracting") -> list[Expression]:
        """``items`` are ``(rationale_id, text)`` pairs; returns expressions in input order."""
        out: list[Expression] = []
        # Issue 15: texts over spaCy's limit go in chunks and come back whole (taxonomy/chunking.py).
        plan = ChunkPlan(items, self.nlp.max_length)
        texts = ((text or "", rid) for rid, text in plan.items)
        docs = self.nlp.pipe(texts, as_tuples=True, n_process=self.n_process, batch_size=self.batch_size)
        for doc, rid in progress(docs, total=len(plan.items), desc=desc, unit="rationale"):
            out.extend(self.expressions_of(doc, rid))
        return plan.merge(out)

    def extract(self, judgments) -> list[Expression]:
        return self.extract_texts([(j.id, j.rationale or "") for j in judgments])

    @staticmethod
    def expressions_of(doc: Doc, rationale_id: str) -> Iterator[Expression]:
        k = 0
        for item in doc._.value_expressions or []:
            span = doc[item["start_tok"]: item["end_tok"]]
            syntax = SpanSyntax(**item["syntax"]) if item.get("syntax") else None
            excluded = exclusion_reason(item["norm"], READ_AS.get(item["rule"], item["rule"]), text=span.text,
                                        syntax=syntax)
            if item["rule"] in READ_AS:
                if excluded:  # an open word that is never a value is not worth a record
                    continue
                excluded = OPEN_CANDIDATE
            k += 1
            yield Expression(
                id=f"{rationale_id}#{k - 1}",
                rationale_id=rationale_id,
                start=span.start_char,
                end=span.end_char,
                text=span.text,
                norm=item["norm"],
                rule=item["rule"],
                polarity=item["polarity"],
                lexicon_value=item["lexicon_value"],
                excluded=excluded,
            )
