"""Keeping credentials out of every message, log line and manifest.

Code that reads a secret registers it (:func:`register_secret`); :func:`redact` then replaces
it wherever it appears, and also masks any ``Bearer``/``Token`` credential and ``api_key=...``
style value even when the secret was never registered (a server may echo a header we did not
send through this process). The CLI applies it to every error it prints, a logging filter to
every log record, and :class:`moralgap.manifest.Manifest` to everything it writes.
"""
from __future__ import annotations

import logging
import re
from typing import Any

MASK = "<redacted>"
_secrets: set[str] = set()

_PATTERNS = (
    # Authorization schemes: "Bearer abc", "Token abc", also inside JSON ('"Bearer abc"').
    re.compile(r"\b(Bearer|bearer|BEARER|Token|TOKEN)(\s+|%20)([A-Za-z0-9\-._~+/=]{8,})"),
    # key=value / "key": "value" for the usual names of secrets.
    re.compile(r"(?i)((?:api[_-]?key|access[_-]?token|secret|password|authorization)[\"']?\s*[:=]\s*[\"']?)"
               r"(?!<redacted>)([^\s\"',&}]{4,})"),
    # A password inside a URL: scheme://user:password@host.
    re.compile(r"(://[^/\s:@]+:)([^/\s@]+)(@)"),
)


def register_secret(value: str | None) -> None:
    # Very short values would mask ordinary words; real keys are long.
    if value and len(value) >= 6:
        _secrets.add(value)


def _mask_scheme(m: re.Match) -> str:
    value = m.group(3)
    # "Token expired" is prose; a credential has a digit or is long.
    if any(c.isdigit() for c in value) or len(value) >= 20:
        return f"{m.group(1)}{m.group(2)}{MASK}"
    return m.group(0)


def redact(text: str) -> str:
    if not isinstance(text, str) or not text:
        return text
    for secret in sorted(_secrets, key=len, reverse=True):
        text = text.replace(secret, MASK)
    text = _PATTERNS[0].sub(_mask_scheme, text)
    text = _PATTERNS[1].sub(lambda m: m.group(1) + MASK, text)
    text = _PATTERNS[2].sub(lambda m: m.group(1) + MASK + m.group(3), text)
    return text


def redact_obj(value: Any) -> Any:
    """The same structure with every string redacted (for manifests and JSON records)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: redact_obj(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_obj(v) for v in value]
    return value


class RedactingFilter(logging.Filter):
    """Rewrites each record's final message, so no handler ever sees a secret."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is logging's problem, not ours
            return True
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True


def install_log_filter() -> None:
    root = logging.getLogger()
    for handler in root.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())


_LOOPBACK = ("localhost", "127.0.0.1", "::1", "[::1]")


def is_cleartext_remote(url: str) -> bool:
    """True for a plain ``http://`` URL whose host is not this machine (a token would cross the network in clear)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme.lower() != "http":
        return False
    host = (parts.hostname or "").lower()
    return not (host in _LOOPBACK or host.startswith("127.") or host.endswith(".localhost"))


def warn_cleartext(url: str, what: str = "the API key") -> None:
    if is_cleartext_remote(url):
        logging.getLogger("moralgap").warning(
            "%s goes to %s over plain http: anyone on the network path can read it; use https", what, redact(url))

