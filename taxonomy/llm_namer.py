"""Value names and definitions written by an LLM from each cluster's exemplars (``--namer llm``).

One request per cluster with the ``name_value`` template, which shows the model the cluster's
most typical expressions (normal form and the words as written), a few sentences they came
from and its keywords, and asks whether the group is a value at all. The answer is a
:class:`~.naming.Naming`: a name of one to three words and a one-sentence definition, or, when
the model says the group is not a value, its reason in ``not_a_value`` (the builder then
publishes the value as ``needs_review``) and no definition.

A cluster with no valid answer after the bounded retries is named by its members, as the
default namer would, with ``source="members (llm failed)"`` so a reviewer sees it, and is
listed in :attr:`LLMNamer.failures`.
"""
from __future__ import annotations

import re
from typing import Any, Sequence

from .llm_client import InvalidAnswer, PromptTemplate, StructuredLLM
from .naming import ClusterView, Naming, member_name

TEMPLATE = "name_value"
FAILED_SOURCE = "members (llm failed)"
MAX_NAME_WORDS = 3
MAX_NAME_CHARS = 48
MAX_DEFINITION_CHARS = 300
N_EXEMPLARS = 10
N_CONTEXTS = 3
CONTEXT_CHARS = 240
_NAME_OK = re.compile(r"^[A-Za-z][A-Za-z'&\- ]*$")
# A sentence end followed by more text: "Honesty matters. It means ..." is two sentences.
_SECOND_SENTENCE = re.compile(r"[.!?]\s+\S")


def _title(name: str) -> str:
    small = {"of", "for", "and", "to", "the", "in", "on", "a"}
    words = name.split()
    return " ".join(w if w.isupper() and len(w) > 1 else (w.lower() if i and w.lower() in small else w[:1].upper() + w[1:])
                    for i, w in enumerate(words))


def view_fields(view: ClusterView) -> dict:
    """The template fields for one cluster."""
    lines = []
    forms = view.forms or view.exemplars
    for form, surface in list(zip(forms, view.exemplars))[:N_EXEMPLARS]:
        lines.append(f"- {form}" + (f'  ("{surface}")' if surface.strip().lower() != form.strip().lower() else ""))
    contexts = [" ".join(c.split())[:CONTEXT_CHARS] for c in view.contexts[:N_CONTEXTS]]
    return {"exemplars": "\n".join(lines) or "- (none)",
            "contexts": "\n".join(f"- {c}" for c in contexts) or "- (not available)",
            "keywords": ", ".join(view.keywords[:8]) or "(none)", "size": view.size, "n_rationales": view.n_rationales}


def validate_answer(answer: Any, fields: dict) -> dict:
    name = " ".join(answer["name"].split()).strip(" .")
    definition = " ".join(answer["definition"].split())
    reason = " ".join(answer["reason"].split())
    if answer["is_value"]:
        if not name or not _NAME_OK.match(name):
            raise InvalidAnswer(f"name {name!r} is not a short phrase of letters")
        if len(name.split()) > MAX_NAME_WORDS or len(name) > MAX_NAME_CHARS:
            raise InvalidAnswer(f"name {name!r} is longer than {MAX_NAME_WORDS} words")
        if not definition:
            raise InvalidAnswer("a value needs a definition")
        if len(definition) > MAX_DEFINITION_CHARS or _SECOND_SENTENCE.search(definition):
            raise InvalidAnswer("the definition is not one short sentence")
        return {"is_value": True, "name": _title(name), "definition": definition}
    if not reason:
        raise InvalidAnswer("not a value, but no reason given")
    ok_name = bool(name) and bool(_NAME_OK.match(name)) and len(name.split()) <= MAX_NAME_WORDS
    return {"is_value": False, "name": _title(name) if ok_name else "", "reason": reason}


class LLMNamer:
    """Implements the builder's ``Namer`` protocol with an LLM behind :class:`StructuredLLM`."""

    def __init__(self, client: StructuredLLM, *, template: PromptTemplate | None = None):
        self.client = client
        self.template = template or PromptTemplate.load(TEMPLATE)
        self.name = f"llm:{client.settings.model}"
        self.source = f"llm:{client.settings.model}"
        self.failures: list[dict] = []
        self.stats = {"clusters": 0, "named": 0, "not_a_value": 0, "failed_clusters": 0}

    def describe(self, views: Sequence[ClusterView]) -> list[Naming]:
        # Items are keyed by position; the cache is keyed by content, so a rebuild that
        # renumbers the same clusters still finds their answers.
        items = [(f"cluster-{c}", view_fields(v)) for c, v in enumerate(views)]
        outcomes = self.client.run(self.template, items, validate_answer, desc="LLM naming")
        out = []
        for view, o in zip(views, outcomes):
            self.stats["clusters"] += 1
            if not o.ok:
                self.stats["failed_clusters"] += 1
                self.failures.append({"stage": "name", "cluster": o.item_id, "exemplars": view.exemplars[:5],
                                      "error": o.error, "attempts": o.attempts, "errors": o.errors})
                out.append(Naming(name=member_name(view), definition="", source=FAILED_SOURCE))
            elif o.value["is_value"]:
                self.stats["named"] += 1
                out.append(Naming(name=o.value["name"], definition=o.value["definition"], source=self.source))
            else:
                self.stats["not_a_value"] += 1
                out.append(Naming(name=o.value["name"] or member_name(view), definition="", source=self.source,
                                  not_a_value=f"LLM: {o.value['reason']}"))
        return out
