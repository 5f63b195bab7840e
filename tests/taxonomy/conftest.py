from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def extractor():
    from moralgap.taxonomy.extract import ValueExtractor

    return ValueExtractor()
