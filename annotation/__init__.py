"""Annotation stage: value annotation of rationales, automatic and with people in Label Studio.

Entry points (imported on first use, so ``import moralgap.annotation`` stays light):

- annotators: :class:`ZeroShotAnnotator` (taxonomy only), :class:`ValueClassifier` (trained on
  labels), :class:`LexiconAnnotator` with :func:`load_lexicon` (Moral Foundations dictionaries);
- :class:`ExpressionCoder`: every value expression coded to one value (the paper's unit);
- :func:`read_labelled` (human labels as a text/label matrix) and :func:`select_next` (what to label next);
- :func:`agreement_report` (Krippendorff's alpha with MASI, kappas, confusions);
- Label Studio: :class:`StudioServer`, :func:`connect`, :func:`push_review` / :func:`apply_review`,
  :func:`push_rationales` / :func:`annotations_from_tasks`, :func:`export_tasks`, :func:`read_export_file`.
"""
from moralgap.lazy import lazy_exports

_EXPORTS = {
    "ZeroShotAnnotator": ".auto",
    "ExpressionCoder": ".expression_coding",
    "ValueClassifier": ".classifier",
    "ClassifierSettings": ".classifier",
    "LexiconAnnotator": ".lexicon_baseline",
    "load_lexicon": ".lexicon_baseline",
    "load_mapping": ".lexicon_baseline",
    "read_labelled": ".labelled",
    "select_next": ".active",
    "agreement_report": ".agreement",
    "StudioServer": ".studio_server",
    "connect": ".studio_client",
    "export_tasks": ".studio_client",
    "push_review": ".review",
    "apply_review": ".review",
    "push_rationales": ".rationale_tasks",
    "annotations_from_tasks": ".rationale_tasks",
    "read_export_file": ".labelstudio_files",
    "Annotator": ".base",
    "NotFittedError": ".base",
    # Moved to moralgap/ (the taxonomy stage writes it too); still reachable from here.
    "label_config": "moralgap.label_config",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
