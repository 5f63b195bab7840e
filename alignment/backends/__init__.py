"""Backends that turn one prompt line into one completion, behind :class:`~.base.Backend`."""
from .base import Backend, BackendError, Completion, request_seed

__all__ = ["Backend", "BackendError", "Completion", "request_seed", "make_backend"]


def make_backend(kind: str, **options) -> Backend:
    """Build a backend by name: ``openai`` (HTTP), ``transformers`` or ``replay``."""
    if kind == "openai":
        from .openai_http import OpenAIHTTPBackend

        return OpenAIHTTPBackend(**options)
    if kind == "transformers":
        from .transformers_local import TransformersBackend

        return TransformersBackend(**options)
    if kind == "replay":
        from .replay import ReplayBackend

        return ReplayBackend(**options)
    raise ValueError(f"unknown backend {kind!r} (openai, transformers, replay)")
