from __future__ import annotations

import pytest


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
