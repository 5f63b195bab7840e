from __future__ import annotations

import pytest

from moralgap.datasets import load_judgments


@pytest.fixture(scope="session")
def extractor():
    from moralgap.taxonomy.extract import ValueExtractor

    return ValueExtractor()


@pytest.fixture
def open_extractor(extractor):
    """The shared extractor with open words on, and off again afterwards."""
    extractor.open_words = True
    yield extractor
    extractor.open_words = False


@pytest.fixture(scope="module")
def sample_judgments(sample_dir):
    """The bundled sample's judgments with a rationale."""
    return load_judgments(sample_dir / "judgments.jsonl", require_rationale=True).records
