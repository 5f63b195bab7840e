"""The interface the three annotators share, in scikit-learn's shape.

``fit`` learns what the annotator needs (prototypes and thresholds from the taxonomy, weights
from labels; a dictionary needs nothing), ``score`` gives an (n texts, n values) array over
``value_ids``, ``annotate`` turns judgments into :class:`~moralgap.records.ValueAnnotation`
rows, and ``save`` / ``load`` keep a fitted annotator in a folder without pickle. Using one
before it is fitted raises :class:`NotFittedError`, which is both scikit-learn's error (so code
written for estimators catches it) and a moralgap error (so the CLI prints one line).
"""
from __future__ import annotations

import os
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
from sklearn.exceptions import NotFittedError as _SklearnNotFitted

from moralgap.errors import MoralgapError
from moralgap.records import Judgment, ValueAnnotation


class NotFittedError(MoralgapError, _SklearnNotFitted):
    """An annotator used before ``fit()`` or ``load()``."""

    def __init__(self, annotator: object):
        super().__init__(f"this {type(annotator).__name__} is not fitted: call fit() first, or load() a saved one")


class Annotator(ABC):
    """fit / score / annotate / save / load over the values in ``value_ids``."""

    value_ids: list[str]

    @property
    @abstractmethod
    def is_fitted(self) -> bool:
        ...

    def check_fitted(self) -> None:
        if not self.is_fitted:
            raise NotFittedError(self)

    @abstractmethod
    def fit(self, texts: Sequence[str] | None = None, labels: np.ndarray | None = None) -> "Annotator":
        """Learn from ``texts`` and a bool ``labels`` matrix over ``value_ids`` where the annotator uses them."""

    @abstractmethod
    def score(self, texts: Sequence[str]) -> np.ndarray:
        """Scores in [0, 1], one row per text and one column per value of ``value_ids``; a blank
        text's row is zero."""

    @abstractmethod
    def annotate(self, judgments: Iterable[Judgment]) -> list[ValueAnnotation]:
        """One annotation per judgment with a non-empty rationale, in input order."""

    @abstractmethod
    def save(self, path: str | os.PathLike) -> Path:
        """Write the fitted annotator into the folder ``path`` (its descriptor last); returns the folder."""

    @classmethod
    @abstractmethod
    def load(cls, path: str | os.PathLike, *args, **kwargs) -> "Annotator":
        """Read an annotator that :meth:`save` wrote."""


def with_rationale(judgments: Iterable[Judgment]) -> list[Judgment]:
    return [j for j in judgments if (j.rationale or "").strip()]
