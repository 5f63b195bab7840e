"""The plain records that flow between stages, each one JSON object per JSONL line.

Records are pydantic models so that a wrong or missing field is reported by name; unknown
fields on input records are kept (``extra="allow"``) because model runs attach their own
metadata (latency, token counts) and later stages must pass it through untouched.
"""
from __future__ import annotations

from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, field_validator

ACCEPTABLE = "acceptable"
UNACCEPTABLE = "unacceptable"
Verdict = Literal["acceptable", "unacceptable"]
Polarity = Literal["upheld", "violated"]
# needs_review: the build found a cluster it could not vouch for as a value (the reason is in
# Value.review_reason); it is kept for a reviewer but not used for annotation until accepted.
ValueStatus = Literal["proposed", "accepted", "rejected", "merged", "needs_review"]
# The statuses of values that annotations, coding and profiles use. A value under review, rejected
# or merged away stays in the taxonomy (with its members) but codes nothing.
CODED_STATUSES: tuple[str, ...] = ("proposed", "accepted")


class Record(BaseModel):
    model_config = ConfigDict(extra="allow", str_strip_whitespace=False, validate_assignment=False)

    def to_json_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


def _nonempty(value: str, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what} must be a non-empty string")
    return value


class Dilemma(Record):
    id: str
    title: str = ""
    text: str
    topics: list[str] = Field(default_factory=list)

    @field_validator("id", "text")
    @classmethod
    def _required_text(cls, v: str, info):
        return _nonempty(v, info.field_name)

    @field_validator("topics", mode="before")
    @classmethod
    def _topics(cls, v):
        # CSV input gives topics as one cell: "family; work"
        if isinstance(v, str):
            return [t.strip() for t in v.replace("|", ";").split(";") if t.strip()]
        return v


class Judgment(Record):
    """One verdict on one dilemma, by a person or a model, with an optional rationale.

    ``verdict`` is already normalised; the loader maps raw labels (YTA, NTA, ...) through a
    :class:`~moralgap.verdicts.VerdictMap`. A model answer that could not be parsed keeps
    ``verdict=None`` and says why in ``parse_error``; a human judgment must have a verdict.
    """

    id: str
    dilemma_id: str
    judge: str = "human"
    verdict: Optional[Verdict] = None
    rationale: Optional[str] = None
    condition: Optional[str] = None
    annotator: Optional[str] = None
    sample: Optional[int] = None
    parse_error: Optional[str] = None

    @field_validator("id", "dilemma_id", "judge")
    @classmethod
    def _required_text(cls, v: str, info):
        return _nonempty(v, info.field_name)

    @property
    def is_human(self) -> bool:
        return self.judge == "human"


class Expression(Record):
    """A value expression found in a rationale, with where it was found and what fired."""

    id: str
    rationale_id: str
    start: int
    end: int
    text: str
    norm: str
    rule: str
    polarity: Polarity = "upheld"
    lexicon_value: Optional[str] = None
    value_id: Optional[str] = None
    similarity: Optional[float] = None
    # Why this span is not a value expression (verdict word, bare noun, ...), when the filter
    # set it apart; such expressions are kept for inspection but never clustered.
    excluded: Optional[str] = None


class ValueAnnotation(Record):
    """The values of one rationale, from a person, the automatic annotator or a lexicon."""

    rationale_id: str
    value_ids: list[str] = Field(default_factory=list)
    scores: dict[str, float] = Field(default_factory=dict)
    source: str = "auto"
    annotator: Optional[str] = None
    taxonomy_version: Optional[int] = None
    free_text: list[str] = Field(default_factory=list)
    # Expression-level coding (``annotate expressions``) counts how many of the rationale's value
    # expressions went to each value; rationale-level annotation leaves it unset (each listed
    # value is then one mention). Scores stay what they are elsewhere: confidences, not counts.
    mentions: Optional[dict[str, int]] = None


class Value(Record):
    """One value of a taxonomy. ``id`` is opaque and never reused; ``name`` is a label."""

    id: str
    name: str
    definition: str = ""
    keywords: list[str] = Field(default_factory=list)
    exemplars: list[str] = Field(default_factory=list)
    size: int = 0
    status: ValueStatus = "proposed"
    merged_into: Optional[str] = None
    parent: Optional[str] = None
    seed_name: Optional[str] = None
    flags: list[str] = Field(default_factory=list)
    # Where the name came from: "members", "prior" (lexicon or given values), "llm:<model>", "human".
    name_source: Optional[str] = None
    # Measured by the build: cohesion, separation, lexicon-free share, rationales spanned.
    quality: dict[str, Any] = Field(default_factory=dict)
    review_reason: Optional[str] = None

    @field_validator("id", "name")
    @classmethod
    def _required_text(cls, v: str, info):
        return _nonempty(v, info.field_name)


class LineageEntry(Record):
    """One recorded change that led to a taxonomy version."""

    version: int
    op: str
    args: dict[str, Any] = Field(default_factory=dict)
    author: str = "moralgap"
    reason: str = ""
    at: str = ""


class Taxonomy(Record):
    """A versioned value taxonomy, serialised as ``taxonomy.json``."""

    schema_version: int = 1
    version: int = 1
    name: str = "taxonomy"
    embedding_model: Optional[str] = None
    values: list[Value] = Field(default_factory=list)
    lineage: list[LineageEntry] = Field(default_factory=list)
    params: dict[str, Any] = Field(default_factory=dict)
    stats: dict[str, Any] = Field(default_factory=dict)

    def by_id(self) -> dict[str, Value]:
        return {v.id: v for v in self.values}

    def active_values(self) -> list[Value]:
        """Values that annotations may use: proposed or accepted (``CODED_STATUSES``)."""
        return [v for v in self.values if v.status in CODED_STATUSES]

    def coded_redirects(self) -> dict[str, str]:
        """Every value id -> the value that codes for it now: itself, or the value it was merged
        into (chains followed). Ids whose value, or end of chain, is under review or rejected
        are absent: they code nothing."""
        by_id = self.by_id()
        out: dict[str, str] = {}
        for v in self.values:
            target, seen = v, set()
            while target.status == "merged" and target.merged_into in by_id and target.id not in seen:
                seen.add(target.id)
                target = by_id[target.merged_into]
            if target.status in CODED_STATUSES:
                out[v.id] = target.id
        return out

    def get(self, value_id: str) -> Value:
        for v in self.values:
            if v.id == value_id:
                return v
        raise KeyError(value_id)
