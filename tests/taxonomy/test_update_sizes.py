"""How many new values an update proposes, including after an import (values with no members)."""
from __future__ import annotations

from moralgap.records import Taxonomy, Value
from moralgap.taxonomy.folder import TaxonomyFolder
from moralgap.taxonomy.update import TaxonomyUpdater


def _folder(*sizes: int) -> TaxonomyFolder:
    values = [Value(id=f"v{i}", name=f"V{i}", status="accepted", size=s) for i, s in enumerate(sizes)]
    return TaxonomyFolder(Taxonomy(name="t", version=1, values=values))


def test_new_values_are_as_large_as_the_existing_ones():
    n, rule = TaxonomyUpdater()._n_new(_folder(20, 30), 250, {})
    assert n == 10 and rule.startswith("as large as the existing values (mean 25.0")


def test_after_an_import_the_values_this_update_filled_set_the_size():
    # Two imported values (no members) gained 20 and 27 expressions; 1,024 leftovers make 44 values,
    # not the hundred-odd a fixed guess of 10 per value gave.
    n, rule = TaxonomyUpdater()._n_new(_folder(0, 0), 1024, {"v0": list(range(20)), "v1": list(range(27))})
    assert n == 44 and "the values this update filled (mean 23.5" in rule and "import" in rule


def test_with_nothing_to_go_by_hdbscan_decides():
    n, rule = TaxonomyUpdater()._n_new(_folder(0, 0), 300, {})
    assert n is None and rule.startswith("found by HDBSCAN")


def test_an_explicit_number_wins():
    assert TaxonomyUpdater(n_new_values=7)._n_new(_folder(0), 300, {}) == (7, "--n-new-values")
