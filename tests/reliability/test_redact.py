"""The redaction rules on their own (the end-to-end cases are in test_security.py)."""
from __future__ import annotations

import logging

import pytest

from moralgap.redact import MASK, RedactingFilter, redact, redact_obj, register_secret


@pytest.mark.parametrize("text, secret", [
    ('{"headers": {"Authorization": "Bearer abcdefgh12345678"}}', "abcdefgh12345678"),
    ("Token 0123456789abcdef0123", "0123456789abcdef0123"),
    ("https://host/v1?api_key=zzzzzzzz99&x=1", "zzzzzzzz99"),
    ('"api-key": "qqqqqqqq77"', "qqqqqqqq77"),
    ("password: hunter2222", "hunter2222"),
    ("http://admin:s3cretpass@example.org:8080/api", "s3cretpass"),
])
def test_credentials_are_masked_even_when_never_registered(text, secret):
    out = redact(text)
    assert secret not in out and MASK in out


@pytest.mark.parametrize("prose", ["the token expired", "Token expired", "tokens and keys", "a secret plan"])
def test_prose_about_tokens_is_left_alone(prose):
    assert redact(prose) == prose


def test_registered_secret_is_masked_anywhere_in_messages_structures_and_logs(caplog):
    register_secret("my-very-own-key-42")
    assert redact_obj({"a": ["x my-very-own-key-42 y"], "n": 3}) == {"a": [f"x {MASK} y"], "n": 3}
    logger = logging.getLogger("moralgap.test_redact")
    record = logger.makeRecord(logger.name, logging.WARNING, __file__, 1, "sent %s", ("my-very-own-key-42",), None)
    assert RedactingFilter().filter(record) and record.getMessage() == f"sent {MASK}"
