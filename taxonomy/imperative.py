"""Whether a sentence is an imperative ("get a prenup", "don't back down"), for the advice rule.

A tagger readily reads the first word of a sentence as a bare verb, even a word that is no
verb at all ("cochlear implants aren't perfect" came out as the command "cochlear"), and a
root verb without a subject of its own is not always a command ("doesn't matter if ...").
So :func:`is_command` checks the shape of the whole sentence, not the tag alone.
"""
from __future__ import annotations

from spacy.language import Language
from spacy.tokens import Span, Token

# What may stand before an imperative verb: discourse words, "please", "and/but", "do not",
# a vocative or verdict ("NTA, tell her"), a preposed clause or phrase ("if he asks, tell him").
# Anything else there, a subject above all ("all you did was spotlight"), means the verb is
# not the command the sentence gives.
LEFT_OF_COMMAND = {"advmod", "neg", "intj", "cc", "punct", "advcl", "prep", "npadvmod", "dep", "meta", "parataxis",
                   "discourse", "mark", "vocative", "nmod", "appos"}
SUBJECT_DEPS = {"nsubj", "nsubjpass", "csubj", "csubjpass", "expl"}
CLAUSES = {"advcl", "parataxis", "ccomp", "xcomp", "relcl", "acl", "conj", "pcomp", "csubj", "prep"}
# A verb the parser gives one of these is used as a verb, whatever the dictionary says ("text her").
VERB_ARGUMENTS = {"dobj", "dative", "prt", "iobj"}


def known_verbs(nlp: Language) -> frozenset[str] | None:
    """The base forms the pipeline's rule lemmatizer knows as verbs (WordNet's), or None where
    it has no such table (a lookup lemmatizer, another language)."""
    if "lemmatizer" not in nlp.pipe_names:
        return None
    lookups = getattr(nlp.get_pipe("lemmatizer"), "lookups", None)
    if lookups is None or not lookups.has_table("lemma_index"):
        return None
    verbs = lookups.get_table("lemma_index").get("verb")
    return frozenset(verbs) if verbs else None


def is_command(sent: Span, verbs: frozenset[str] | None) -> bool:
    """``sent`` is a command its root verb gives, to an unnamed "you".

    - the root is a bare verb (tag VB) with no subject;
    - no helper but "do" ("don't"): a modal or "to" makes it no command, and "does"/"did"
      belong to a subject the parser lost ("doesn't seem like ...");
    - nothing but the words in ``LEFT_OF_COMMAND`` precedes it, and no subject outside a
      clause of its own;
    - it is a verb the dictionary knows, or one the parser gives an object or particle: a word
      that is neither is a noun or adjective the tagger misread.
    """
    root = sent.root
    if root.pos_ != "VERB" or root.tag_ != "VB":
        return False
    for c in root.children:
        if c.dep_ in SUBJECT_DEPS:
            return False
        if c.dep_ in ("aux", "auxpass") and c.lower_ != "do":
            return False
        if c.i < root.i and c.dep_ not in LEFT_OF_COMMAND | {"aux"}:
            return False
    if any(t.dep_ in SUBJECT_DEPS and _same_clause(t, root) for t in sent if t.i < root.i):
        return False
    return verbs is None or root.lemma_.lower() in verbs or _takes_arguments(root)


def _same_clause(tok: Token, root: Token) -> bool:
    # A subject the parser hung on a helper word ("you don't just stop", with "you" under "do")
    # is still the root's, unlike one inside a clause of its own ("if you do this, remember").
    while tok.head.i != tok.i and tok.head.i != root.i:
        if tok.dep_ in CLAUSES:
            return False
        tok = tok.head
    return tok.dep_ not in CLAUSES


def _takes_arguments(root: Token) -> bool:
    return any(c.dep_ in VERB_ARGUMENTS and c.i > root.i for c in root.children)
