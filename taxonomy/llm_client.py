"""Structured, cached, replayable LLM calls for the taxonomy's LLM extractor and namer.

One job: turn ``(item id, template fields)`` into a validated JSON answer per item, through the
OpenAI-compatible backend the judge uses (:class:`~moralgap.alignment.backends.openai_http.OpenAIHTTPBackend`,
which already does HTTP retries, timeouts, backoff and the connection limit).

- **Templates** are files in ``taxonomy/resources/prompts``: ``<name>.txt`` (system and user
  parts, ``$field`` placeholders) and ``<name>.schema.json`` (the answer's JSON schema). The
  template hash covers both, so editing either invalidates cached answers made with it.
- **Strict output**: the schema goes to the server as ``response_format`` (``json_schema``, the
  OpenAI form that vLLM, llama.cpp's own server, Ollama and hosted APIs read; or ``json_object``
  with a ``schema``, the form llama-cpp-python's server reads and turns into a grammar; or
  ``none``). Every answer is parsed and checked against the schema and the caller's own rules
  whatever the server promised; an invalid answer is asked again, up to ``max_attempts`` times
  (later attempts sample at ``retry_temperature``, since a greedy retry would repeat itself),
  and then the item is reported as failed. A failed item never stops the run.
- **Cache**: every request and its answer is appended to a JSONL file keyed by a hash of the
  model, the template hash, the sampling parameters, the rendered messages and the attempt
  number (:class:`LLMCache`). A rerun asks the server nothing it has asked before, and the
  same cache gives the same answers in the same order, so a build is reproducible byte for
  byte. ``replay=True`` never contacts a server: a missing answer is an error that names it.
  The base URL is not in the key: the same model behind another server answers from the cache.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import fcntl
import hashlib
import json
import logging
import re
import string
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

from moralgap.errors import ConfigError, InputError, MoralgapError
from moralgap.io import KeyedAppender
from moralgap.progress import progress

log = logging.getLogger(__name__)

CACHE_FORMAT = 1
STRUCTURED_MODES = ("json_schema", "json_object", "none")
_SECTION = "=== "
# Refusals that no retry and no other item will get past (bad key, wrong URL or model, a
# response_format the server does not take); a 400 may be one long rationale and is not here.
_CONFIG_STATUS = re.compile(r"HTTP (401|403|404|422) from")
# With no answer yet, this many failed requests in a row stop the run.
FAIL_FAST_AFTER = 3


class ReplayMissingError(MoralgapError):
    """Replay (cache-only) mode met a request the cache has no answer for."""


class InvalidAnswer(ValueError):
    """An answer that does not follow the schema or the caller's rules (the message says which)."""


# -- templates -------------------------------------------------------------------------------

@dataclass(frozen=True)
class PromptTemplate:
    name: str
    system: str
    user: str
    schema: dict
    sha256: str

    @classmethod
    def load(cls, name: str, folder: str | Path | None = None) -> "PromptTemplate":
        """``<name>.txt`` and ``<name>.schema.json`` from ``folder`` (default: the shipped prompts)."""
        if folder is None:
            base = resources.files("moralgap.taxonomy.resources").joinpath("prompts")
            text_file, schema_file = base.joinpath(f"{name}.txt"), base.joinpath(f"{name}.schema.json")
        else:
            text_file, schema_file = Path(folder) / f"{name}.txt", Path(folder) / f"{name}.schema.json"
        try:
            raw = text_file.read_bytes()
            schema_raw = schema_file.read_bytes()
        except FileNotFoundError as exc:
            raise ConfigError(f"prompt template {name!r}: {exc.filename} is missing") from None
        try:
            schema = json.loads(schema_raw)
        except json.JSONDecodeError as exc:
            raise InputError(str(schema_file), f"malformed JSON schema ({exc.msg})", line=exc.lineno) from None
        sections: dict[str, list[str]] = {}
        current = None
        for line in raw.decode("utf-8").splitlines():
            if line.startswith(_SECTION) and line.rstrip().endswith("==="):
                current = line.strip("= \n").lower()
                sections[current] = []
            elif current is not None:
                sections[current].append(line)
            # Lines before the first section are the template's own comments.
        if "user" not in sections:
            raise InputError(str(text_file), "prompt template has no '=== user ===' section")
        digest = hashlib.sha256(raw + b"\x00" + _canonical(schema).encode()).hexdigest()
        return cls(name=name, system="\n".join(sections.get("system", [])).strip(),
                   user="\n".join(sections["user"]).strip(), schema=schema, sha256=digest)

    def render(self, fields: dict[str, Any]) -> list[dict]:
        try:
            user = string.Template(self.user).substitute({k: str(v) for k, v in fields.items()})
        except KeyError as exc:
            raise ConfigError(f"prompt template {self.name!r} needs field {exc.args[0]!r}") from None
        msgs = [{"role": "system", "content": self.system}] if self.system else []
        return msgs + [{"role": "user", "content": user}]


def _canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def check_schema(value: Any, schema: dict, where: str = "$") -> None:
    """Raise :class:`InvalidAnswer` unless ``value`` follows ``schema``.

    Covers the part of JSON Schema the shipped templates use (type, properties, required,
    additionalProperties, items, minItems/maxItems, enum, minLength/maxLength), so the schema
    file stays the one statement of the answer's shape.
    """
    t = schema.get("type")
    kinds = {"object": dict, "array": list, "string": str, "boolean": bool, "integer": int, "number": (int, float)}
    if t in kinds:
        ok = isinstance(value, kinds[t]) and not (t in ("integer", "number") and isinstance(value, bool))
        if not ok:
            raise InvalidAnswer(f"{where}: expected {t}, got {type(value).__name__}")
    if "enum" in schema and value not in schema["enum"]:
        raise InvalidAnswer(f"{where}: {value!r} is not one of {schema['enum']}")
    if t == "string":
        if len(value) < schema.get("minLength", 0) or len(value) > schema.get("maxLength", float("inf")):
            raise InvalidAnswer(f"{where}: string length {len(value)} out of bounds")
    if t == "array":
        if len(value) < schema.get("minItems", 0) or len(value) > schema.get("maxItems", float("inf")):
            raise InvalidAnswer(f"{where}: {len(value)} items, out of bounds")
        for i, v in enumerate(value):
            check_schema(v, schema.get("items", {}), f"{where}[{i}]")
    if t == "object":
        props = schema.get("properties", {})
        for k in schema.get("required", []):
            if k not in value:
                raise InvalidAnswer(f"{where}: missing {k!r}")
        if schema.get("additionalProperties") is False:
            extra = sorted(set(value) - set(props))
            if extra:
                raise InvalidAnswer(f"{where}: unexpected {extra}")
        for k, sub in props.items():
            if k in value:
                check_schema(value[k], sub, f"{where}.{k}")


# -- cache -----------------------------------------------------------------------------------

class LLMCache:
    """Append-only JSONL of requests and answers, keyed by ``key``; safe to kill at any moment.

    Built on :class:`~moralgap.io.KeyedAppender`: every answer is flushed as soon as it arrives,
    a torn last line (a kill mid-write) is cut off on reopen, and a key already present is
    never written again. An exclusive lock keeps two builds from appending to one cache at once.
    ``writable=False`` (replay) only reads, and takes no lock.
    """

    def __init__(self, path: str | Path, *, writable: bool = True):
        self.path = Path(path)
        self.writable = writable
        self.rows: dict[str, dict] = {}
        self._lock_fh = None
        self._appender: Optional[KeyedAppender] = None
        if writable:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._lock_fh = open(self.path.with_name(self.path.name + ".lock"), "a")
            try:
                fcntl.flock(self._lock_fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                self._lock_fh.close()
                raise ConfigError(f"LLM cache {self.path} is in use by another process") from None
            self._appender = KeyedAppender(self.path, key="key")
        elif not self.path.is_file():
            raise ConfigError(f"--llm-replay needs an existing LLM cache; {self.path} does not exist")
        self._load()

    def _load(self) -> None:
        data = self.path.read_bytes() if self.path.exists() else b""
        # Replay reads without repairing: a torn last line (no newline) is ignored, not cut.
        data = data[: data.rfind(b"\n") + 1]
        for number, line in enumerate(data.decode("utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                raise InputError(self.path, "malformed JSON line in the LLM cache", line=number) from None
            self.rows.setdefault(row["key"], _slim(row))

    def get(self, key: str) -> Optional[dict]:
        return self.rows.get(key)

    def put(self, row: dict) -> None:
        if self._appender is None:
            raise ConfigError("the LLM cache was opened read-only (replay)")
        if row["key"] in self.rows:
            return
        self._appender.write(row)
        self.rows[row["key"]] = _slim(row)

    def close(self) -> None:
        if self._appender is not None:
            self._appender.close()
            self._appender = None
        if self._lock_fh is not None:
            self._lock_fh.close()
            self._lock_fh = None


def _slim(row: dict) -> dict:
    # The request body (the whole rationale and prompt) stays on disk only: a cache of tens of
    # thousands of rationales would otherwise be held twice in memory.
    return {k: v for k, v in row.items() if k != "request"}


# -- the client ------------------------------------------------------------------------------

@dataclass
class LLMSettings:
    """How to reach the model and how to sample; everything but ``base_url``/``api_key_env``,
    ``concurrency`` and ``timeout_s`` goes into the cache key."""

    model: str
    base_url: str = "http://127.0.0.1:8080/v1"
    structured: str = "json_schema"
    temperature: float = 0.0
    retry_temperature: float = 0.7
    max_tokens: int = 512
    max_attempts: int = 3
    concurrency: int = 4
    timeout_s: float = 120.0
    http_retries: int = 3
    api_key_env: Optional[str] = None
    seed: int = 13

    def __post_init__(self):
        if self.structured not in STRUCTURED_MODES:
            raise ConfigError(f"structured output mode must be one of {STRUCTURED_MODES}, got {self.structured!r}")
        if self.max_attempts < 1:
            raise ConfigError("--llm-max-attempts must be at least 1")
        if not self.model:
            raise ConfigError("the LLM path needs a model name (--llm-model)")


@dataclass
class Outcome:
    """One item's result: the validated answer, or ``error`` saying why there is none."""

    item_id: str
    value: Any = None
    error: Optional[str] = None
    attempts: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None


class StructuredLLM:
    """Validated JSON answers for many items, concurrently, through a cache.

    ``validate(parsed_json, fields)`` returns the caller's value or raises :class:`InvalidAnswer`.
    """

    def __init__(self, settings: LLMSettings, cache_path: str | Path, *, replay: bool = False, transport=None):
        self.settings = settings
        self.cache_path = Path(cache_path)
        self.cache: Optional[LLMCache] = None
        self.replay = replay
        self._transport = transport
        self.stats = {"items": 0, "cache_hits": 0, "requests": 0, "invalid_answers": 0, "failed_items": 0,
                      "http_failures": 0}
        self.templates: dict[str, str] = {}

    def describe(self) -> dict:
        """For the manifest: never the key, only the name of the variable that holds it."""
        s = self.settings
        return {"model": s.model, "base_url": None if self.replay else s.base_url, "replay": self.replay,
                "structured": s.structured, "temperature": s.temperature, "retry_temperature": s.retry_temperature,
                "max_tokens": s.max_tokens, "max_attempts": s.max_attempts, "concurrency": s.concurrency,
                "seed": s.seed, "cache": str(self.cache_path), "templates": dict(self.templates)}

    # The request as it is keyed and sent, minus the model (added by the backend).
    def _body(self, template: PromptTemplate, messages: list[dict], attempt: int) -> dict:
        s = self.settings
        body: dict[str, Any] = {"messages": messages, "max_tokens": s.max_tokens,
                                "temperature": s.temperature if attempt == 0 else max(s.temperature, s.retry_temperature)}
        if s.structured == "json_schema":
            body["response_format"] = {"type": "json_schema",
                                       "json_schema": {"name": template.name, "schema": template.schema, "strict": True}}
        elif s.structured == "json_object":
            body["response_format"] = {"type": "json_object", "schema": template.schema}
        return body

    def _key(self, template: PromptTemplate, body: dict, attempt: int) -> str:
        material = {"format": CACHE_FORMAT, "model": self.settings.model, "template": template.name,
                    "template_sha256": template.sha256, "structured": self.settings.structured,
                    "seed": self.settings.seed, "attempt": attempt, "body": body}
        return hashlib.sha256(_canonical(material).encode()).hexdigest()

    def run(self, template: PromptTemplate, items: Sequence[tuple[str, dict]],
            validate: Callable[[Any, dict], Any], *, desc: str = "LLM") -> list[Outcome]:
        """One :class:`Outcome` per ``(item_id, fields)``, in input order."""
        self.templates[template.name] = template.sha256
        # The cache is open (and locked) only while a batch runs, so an extractor and a namer
        # can share one file and an error anywhere releases it.
        self.cache = LLMCache(self.cache_path, writable=not self.replay)
        try:
            coro = self._run(template, list(items), validate, desc)
            try:
                asyncio.get_running_loop()
            except RuntimeError:
                return asyncio.run(coro)
            # Called from inside an event loop (a notebook): run ours on a thread of its own.
            with concurrent.futures.ThreadPoolExecutor(1) as pool:
                return pool.submit(asyncio.run, coro).result()
        finally:
            self.cache.close()

    async def _run(self, template, items, validate, desc) -> list[Outcome]:
        from moralgap.alignment.backends.base import BackendError, request_seed
        from moralgap.alignment.prompts_file import PromptLine

        s = self.settings
        backend = None
        if not self.replay:
            from moralgap.alignment.backends.openai_http import OpenAIHTTPBackend

            backend = OpenAIHTTPBackend(s.base_url, s.model, api_key_env=s.api_key_env, concurrency=s.concurrency,
                                        max_retries=s.http_retries, timeout_s=s.timeout_s, seed=s.seed,
                                        transport=self._transport)
        # Items with identical text share one request (and one cache entry): the second waits
        # for the first rather than asking again, so the cache holds one answer per key.
        inflight: dict[str, asyncio.Future] = {}
        missing: list[str] = []
        run_state = {"answered": 0, "failed": 0}
        gate = asyncio.Semaphore(s.concurrency)

        async def fetch(item_id: str, body: dict, key: str, attempt: int) -> dict:
            row = self.cache.get(key)
            if row is not None:
                self.stats["cache_hits"] += 1
                run_state["answered"] += 1
                return row
            if key in inflight:
                return await asyncio.shield(inflight[key])
            if self.replay:
                raise ReplayMissingError(f"{item_id} (attempt {attempt + 1}, key {key[:12]})")
            fut = asyncio.get_running_loop().create_future()
            inflight[key] = fut
            try:
                prompt = PromptLine(custom_id=f"{template.name}:{item_id}:{attempt}", messages=body["messages"],
                                    dilemma_id=item_id, body=body)
                self.stats["requests"] += 1
                done = await backend.complete(prompt, seed=request_seed(s.seed, f"{key}"))
                row = {"key": key, "template": template.name, "template_sha256": template.sha256,
                       "model": s.model, "attempt": attempt, "item": item_id, "request": body,
                       "answer": done.text, "finish_reason": done.finish_reason,
                       "usage": {"prompt_tokens": done.prompt_tokens, "completion_tokens": done.completion_tokens}}
                self.cache.put(row)
                run_state["answered"] += 1
                fut.set_result(row)
                return row
            except BaseException as exc:
                if isinstance(exc, asyncio.CancelledError):
                    fut.cancel()
                else:
                    fut.set_exception(exc)
                    # Nobody else may be waiting; keep asyncio from warning about an unread exception.
                    fut.exception()
                raise
            finally:
                inflight.pop(key, None)

        async def one(item_id: str, fields: dict, bar) -> Outcome:
            out = Outcome(item_id)
            async with gate:
                messages = template.render(fields)
                for attempt in range(s.max_attempts):
                    body = self._body(template, messages, attempt)
                    key = self._key(template, body, attempt)
                    out.attempts = attempt + 1
                    try:
                        row = await fetch(item_id, body, key, attempt)
                    except ReplayMissingError as exc:
                        missing.append(str(exc))
                        out.error = "missing from the cache (replay)"
                        break
                    except BackendError as exc:
                        if _CONFIG_STATUS.search(str(exc)):
                            # Every other request would be refused the same way: stop now.
                            raise ConfigError(f"the LLM server refused the request: {exc}") from None
                        self.stats["http_failures"] += 1
                        run_state["failed"] += 1
                        if not run_state["answered"] and run_state["failed"] >= FAIL_FAST_AFTER:
                            # Nothing has worked yet (a 500 for a response_format the server cannot
                            # handle, a server that is down): stop rather than fail every item.
                            # Answers already cached stay; a rerun resumes.
                            raise ConfigError(
                                f"the first {run_state['failed']} LLM requests all failed (last: {exc}); check "
                                f"--llm-base-url, --llm-model and --llm-structured ({s.structured})") from None
                        out.error = f"request failed: {exc}"
                        break
                    try:
                        out.value = validate(parse_answer(row.get("answer"), row.get("finish_reason"), template.schema),
                                             fields)
                        out.error = None
                        break
                    except InvalidAnswer as exc:
                        self.stats["invalid_answers"] += 1
                        out.errors.append(f"attempt {attempt + 1}: {exc}")
                        out.error = f"no valid answer in {attempt + 1} attempts (last: {exc})"
            if out.error is not None:
                self.stats["failed_items"] += 1
            bar.update(1)
            return out

        self.stats["items"] += len(items)
        bar = progress(total=len(items), desc=desc, unit="request")
        tasks = [asyncio.ensure_future(one(i, f, bar)) for i, f in items]
        try:
            results = await asyncio.gather(*tasks)
        except BaseException:
            # One item stopped the run (a refused request): stop the others before the clients close.
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        finally:
            bar.close()
            if backend is not None:
                await backend.aclose()
        if missing:
            raise ReplayMissingError(
                f"--llm-replay: {len(missing)} answer(s) are not in the LLM cache {self.cache.path} "
                f"(model {s.model!r}, template {template.name} {template.sha256[:12]}); first: {missing[0]}. "
                "Run once against a server to fill the cache, or check that the model, template and settings match.")
        return results


def parse_answer(text: Optional[str], finish_reason: Optional[str], schema: dict) -> Any:
    """The answer's JSON, checked against ``schema``; :class:`InvalidAnswer` says what is wrong."""
    if not text or not text.strip():
        raise InvalidAnswer("empty answer")
    raw = text.strip()
    # Some servers without schema support wrap JSON in a Markdown fence; accept that one form.
    if raw.startswith("```"):
        raw = raw.strip("`")
        raw = raw[4:] if raw.startswith("json") else raw
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        cut = " (cut off at max_tokens)" if finish_reason == "length" else ""
        raise InvalidAnswer(f"not JSON: {exc.msg} at char {exc.pos}{cut}") from None
    check_schema(value, schema)
    return value
