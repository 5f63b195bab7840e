"""The report's figures: data-derived text and degenerate data are drawn without warnings."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from moralgap.alignment.metrics import DilemmaFrame
from moralgap.alignment.plots import _pearson, _shown, scatter_p, topic_profiles


def test_correlation_is_undefined_where_a_side_never_varies():
    assert _pearson([0.1, 0.5, 0.9], [0.2, 0.4, 0.8]) == pytest.approx(0.9820, abs=1e-4)
    assert _pearson([0.1, 0.5, 0.9], [1.0, 1.0, 1.0]) is None  # a model that always says the same
    assert _pearson([0.1, 0.5], [0.2, 0.4]) is None


def test_text_no_font_has_is_replaced():
    assert _shown("Honesty / Truth") == "Honesty / Truth"
    assert _shown("caf\u00e9") == "caf\u00e9"
    assert _shown("a\x1fb\U00101a12c") == "a?b?c"


def test_hostile_labels_and_a_constant_model_draw_without_warnings(tmp_path):
    n = 5
    columns = {c: np.zeros(n) for c in DilemmaFrame.COLUMNS}
    frame = DilemmaFrame(**{**columns, "p_human": np.linspace(0.1, 0.9, n), "p_model": np.full(n, 1.0)})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a NaN correlation or a glyph no font has would warn
        scatter_p({"cond\x1f\U00101a12": frame}, tmp_path / "scatter.png")
        topic_profiles({"topic\x1f": {"human": {"v1": 0.6, "v2": 0.4}, "m\U00101a12": {"v1": 1.0}}},
                       tmp_path / "topics.png", names={"v1": "Care\x1f"})
    assert (tmp_path / "scatter.png").stat().st_size > 0 and (tmp_path / "topics.png").stat().st_size > 0
