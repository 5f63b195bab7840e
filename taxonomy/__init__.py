"""Taxonomy stage: build, show, edit, diff, update, export and import value taxonomies.

Entry points (imported on first use, so ``import moralgap.taxonomy`` stays light):

- :class:`TaxonomyBuilder` (``fit(judgments) -> BuildResult``; ``BuildResult.save(folder)``);
- :class:`TaxonomyFolder` (``load`` / ``save`` a build folder) and :func:`load_taxonomy`;
- :mod:`edits` (rename, define, accept, reject, merge, split, set_parent) and :func:`diff_taxonomies`;
- :mod:`move_members` (``move``: members out of a value or into another, kept out by updates);
- :func:`member_forms` (one value's members form by form, as ``taxonomy show --value`` lists them);
- :class:`TaxonomyUpdater` (assign new rationales to an existing taxonomy);
- :func:`export_taxonomy` / :func:`import_taxonomy`;
- :class:`ValueExtractor` and :class:`Embedder`, the two models a build uses, and
  :class:`EmbeddingSpace` (model, fingerprint and embed-text rule), which a build records and
  update, edits, diff and the zero-shot annotator read back.
"""
from moralgap.lazy import lazy_exports

_EXPORTS = {
    "TaxonomyBuilder": ".build",
    "BuildResult": ".build",
    "TaxonomyFolder": ".folder",
    "load_taxonomy": "moralgap.taxonomy_file",
    "edits": ".edits",
    "diff_taxonomies": ".diff",
    "TaxonomyUpdater": ".update",
    "export_taxonomy": ".export_import",
    "import_taxonomy": ".export_import",
    "ValueExtractor": ".extract",
    "Embedder": ".embed",
    "EmbeddingSpace": ".space",
    "load_seed_values": ".seed_values",
    "member_forms": ".members",
    "move_members": ".move_members",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
