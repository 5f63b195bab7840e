"""Hypothesis strategies for hostile input files: malformed records, encodings, line endings, huge fields.

A file starts from valid records of its kind and is broken at one or more levels:
* a record: a field dropped, set to any JSON value (NaN, huge numbers, nested junk), junk keys
  added, or the whole line replaced by a non-object;
* the text: U+2028/U+2029/U+0085, NUL and control characters, very long strings;
* the bytes: CRLF / CR / mixed line ends, a BOM, UTF-16 or Latin-1 instead of UTF-8, a
  truncated last line, stray blank or garbage lines.
"""
from __future__ import annotations

import json

from hypothesis import strategies as st

ODD = ["\u2028", "\u2029", "\u0085", "\x00", "\r", "\t", "\x1b[31m", "\ufeff", "\ud7ff", "é", "🙂", "\"", "\\", "::"]

odd_text = st.one_of(
    st.text(max_size=20),
    st.lists(st.sampled_from(ODD) | st.text(max_size=4), max_size=6).map("".join),
    st.sampled_from([0, 1, 5_000, 120_000]).map(lambda n: "Because of loyalty. " * (n // 20)),
)
json_scalar = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2 ** 70), max_value=2 ** 70),
    st.floats(allow_nan=True, allow_infinity=True), odd_text,
)
json_value = st.recursive(json_scalar, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
    st.text(max_size=6), inner, max_size=3), max_leaves=6)


@st.composite
def broken_rows(draw, base: list[dict]) -> list:
    rows = [dict(r) for r in base]
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        i = draw(st.integers(min_value=0, max_value=len(rows) - 1))
        row = rows[i]
        action = draw(st.sampled_from(["drop", "set", "junk", "replace", "duplicate", "odd-text"]))
        if action == "replace":
            rows[i] = draw(json_value)
            continue
        if not isinstance(row, dict) or not row:
            continue
        key = draw(st.sampled_from(sorted(row)))
        if action == "drop":
            row.pop(key)
        elif action == "set":
            row[key] = draw(json_value)
        elif action == "junk":
            row[draw(st.text(max_size=8))] = draw(json_value)
        elif action == "duplicate":
            rows.append(dict(row))
        elif isinstance(row[key], str):
            row[key] = row[key] + draw(odd_text)
    return rows


@st.composite
def file_bytes(draw, rows: list) -> bytes:
    lines = [json.dumps(r, ensure_ascii=draw(st.booleans())) for r in rows]
    if draw(st.booleans()):
        at = draw(st.integers(min_value=0, max_value=len(lines)))
        lines.insert(at, draw(st.sampled_from(["", "   ", "{", "not json", "[1,", "\x00\x01", "NaN", '{"a": 1}{"b": 2}'])))
    ending = draw(st.sampled_from(["\n", "\r\n", "\r", "mixed"]))
    if ending == "mixed":
        text = "".join(l + draw(st.sampled_from(["\n", "\r\n", "\r"])) for l in lines)
    else:
        text = ending.join(lines) + (ending if draw(st.booleans()) else "")
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8", "utf-8-sig", "utf-16", "latin-1"]))
    data = text.encode(encoding, errors="replace") if encoding == "latin-1" else text.encode(encoding, errors="surrogatepass")
    if draw(st.integers(min_value=0, max_value=4)) == 0 and data:
        data = data[: draw(st.integers(min_value=0, max_value=len(data) - 1))]
    return data


def hostile_file(base: list[dict]):
    return broken_rows(base).flatmap(file_bytes)


# Numeric option values a user might type, from sensible to absurd.
number_text = st.one_of(
    st.sampled_from(["nan", "inf", "-inf", "-1", "0", "1e308", "1e-320", "100000000", "9" * 30, "0x10", "", " ", "1,5", "½"]),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(min_value=-(10 ** 12), max_value=10 ** 12).map(str),
)
