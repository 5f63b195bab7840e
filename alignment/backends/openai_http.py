"""OpenAI-compatible chat completions over HTTP (vLLM, llama.cpp server, Ollama, hosted APIs).

Asynchronous (httpx) with a connection limit equal to the concurrency, an optional request
rate limit, and retries on 429 / 5xx / timeouts / broken or truncated replies, with
exponential backoff and jitter, honouring ``Retry-After``. The key is read from the
environment variable the user names; it goes into the Authorization header only and is never
logged, put in an error message or written to the manifest.
"""
from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import os
import re
import ssl
import time
from typing import Optional

import httpx

from moralgap.errors import ConfigError
from moralgap.redact import redact, register_secret, warn_cleartext
from moralgap.seeding import rng

from ..logprob import p_acceptable_from_openai_logprobs
from ..prompts_file import PromptLine
from .base import Backend, BackendError, Completion

log = logging.getLogger(__name__)

RETRY_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
# Whatever a prompt line asks, these belong to the run, not to the line.
_RUN_KEYS = ("model",)


class _Retryable(Exception):
    def __init__(self, why: str, retry_after: Optional[float] = None):
        super().__init__(why)
        self.retry_after = retry_after


def parse_retry_after(value: Optional[str]) -> Optional[float]:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class RateLimiter:
    """At most ``rate`` starts per second, spaced evenly (no bursts after an idle spell)."""

    def __init__(self, rate: Optional[float]):
        self.interval = 1.0 / rate if rate else 0.0
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        if not self.interval:
            return
        async with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self.interval
        if start > now:
            await asyncio.sleep(start - now)


def not_an_api(resp: httpx.Response) -> bool:
    """An HTML page (a web app on the port) rather than the JSON an OpenAI-compatible API sends."""
    ctype = resp.headers.get("content-type", "").lower()
    return "html" in ctype or (not ctype and resp.text.lstrip()[:15].lower().startswith(("<!doctype html", "<html")))


def who_answered(resp: httpx.Response) -> str:
    """Name the server that answered instead of dumping its page, and say what to check."""
    title = re.search(r"<title[^>]*>(.*?)</title>", resp.text[:20000], re.I | re.S)
    server = resp.headers.get("server")
    what = ", ".join(x for x in (f"a page titled {' '.join(title.group(1).split())!r}" if title else "an HTML page",
                                 f"server header {server!r}" if server else "") if x)
    hint = (" (Label Studio: `moralgap studio start` uses port 8080)" if title and "label studio" in title.group(1).lower()
            else "")
    return (f"the server that answered is not an OpenAI-compatible API: it sent {what}{hint}. Check --base-url: "
            f"it must be the API root of a model server (vLLM and llama-cpp-python serve http://127.0.0.1:8000/v1 by default)")


class OpenAIHTTPBackend(Backend):
    kind = "openai"
    MAX_CLIENTS = 128

    def __init__(self, base_url: str, model: str, *, api_key_env: Optional[str] = None, concurrency: int = 16,
                 max_retries: int = 6, timeout_s: float = 120.0, rate_limit: Optional[float] = None,
                 backoff_s: float = 0.5, backoff_max_s: float = 30.0, retry_after_max_s: float = 120.0,
                 top_logprobs: int = 20, sampling: Optional[dict] = None, seed: int = 13,
                 transport: Optional[httpx.AsyncBaseTransport] = None):
        if concurrency < 1:
            raise ConfigError("--concurrency must be at least 1")
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.concurrency = concurrency
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self.backoff_max_s = backoff_max_s
        self.retry_after_max_s = retry_after_max_s
        self.top_logprobs = top_logprobs
        self.sampling = dict(sampling or {})
        self.rate_limit = rate_limit
        self._limiter = RateLimiter(rate_limit)
        self._jitter = rng(seed, "http-backoff-jitter")
        self.api_key_env = api_key_env
        headers = {"Content-Type": "application/json"}
        if api_key_env:
            key = os.environ.get(api_key_env)
            if not key:
                raise ConfigError(f"environment variable {api_key_env} (named by --api-key-env) is not set or empty")
            headers["Authorization"] = f"Bearer {key}"
            register_secret(key)
            warn_cleartext(self.base_url, f"the API key from {api_key_env}")
        # One httpx client per few connections, handed out from a free list: a single client's
        # pool slows down sharply with many concurrent requests (encode/httpx#3215).
        shards = min(concurrency, self.MAX_CLIENTS)
        per_client = -(-concurrency // shards)
        # Loading the CA store costs ~50 ms per client: build one SSL context for all of them.
        tls = ssl.create_default_context() if self.base_url.startswith("https") else False
        self._clients = [httpx.AsyncClient(
            base_url=self.base_url, headers=headers, transport=transport, verify=tls,
            timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 10.0)),
            limits=httpx.Limits(max_connections=per_client, max_keepalive_connections=per_client),
        ) for _ in range(shards)]
        self._slots = [c for c in self._clients for _ in range(per_client)][:concurrency]
        self._free: Optional[asyncio.Queue] = None
        self.stats = {"requests": 0, "retries": 0}

    def describe(self) -> dict:
        return {**super().describe(), "base_url": self.base_url, "rate_limit": self.rate_limit,
                "max_retries": self.max_retries, "api_key_env": self.api_key_env, "sampling": self.sampling}

    def _payload(self, prompt: PromptLine, seed: int, logprobs: bool) -> dict:
        body = {k: v for k, v in prompt.body.items() if k not in _RUN_KEYS}
        body.update(self.sampling)
        body["model"] = self.model
        body["seed"] = seed
        body["stream"] = False
        if logprobs:
            body["logprobs"] = True
            body["top_logprobs"] = self.top_logprobs
        return body

    def _delay(self, attempt: int, retry_after: Optional[float]) -> float:
        if retry_after is not None:
            return min(retry_after, self.retry_after_max_s)
        cap = min(self.backoff_max_s, self.backoff_s * (2 ** attempt))
        # "Equal jitter": half fixed, half random, so clients that failed together spread out.
        return cap / 2 + float(self._jitter.uniform(0, cap / 2))

    async def _once(self, payload: dict) -> dict:
        await self._limiter.acquire()
        self.stats["requests"] += 1
        if self._free is None:
            self._free = asyncio.Queue()
            for c in self._slots:
                self._free.put_nowait(c)
        client = await self._free.get()
        try:
            resp = await client.post("/chat/completions", json=payload)
        except httpx.TimeoutException as exc:
            raise _Retryable(f"timeout ({type(exc).__name__})") from None
        except httpx.TransportError as exc:
            raise _Retryable(f"connection error ({type(exc).__name__})") from None
        finally:
            self._free.put_nowait(client)
        if resp.status_code in RETRY_STATUS:
            raise _Retryable(f"HTTP {resp.status_code}", parse_retry_after(resp.headers.get("retry-after")))
        if not_an_api(resp):
            raise BackendError(f"HTTP {resp.status_code} from {self.base_url}: {who_answered(resp)}")
        if resp.status_code >= 400:
            # Redact before cutting: a server that echoes the request would show the key, and a
            # cut first could leave a key fragment the patterns no longer recognise.
            detail = redact(resp.text)[:200].replace("\n", " ")
            raise BackendError(f"HTTP {resp.status_code} from {self.base_url}: {detail}")
        try:
            data = resp.json()
            choice = data["choices"][0]
            choice["message"]
        except (json.JSONDecodeError, UnicodeDecodeError, KeyError, IndexError, TypeError):
            raise _Retryable("malformed or truncated reply") from None
        return data

    async def complete(self, prompt: PromptLine, *, seed: int, logprobs: bool = False) -> Completion:
        payload = self._payload(prompt, seed, logprobs)
        attempt = 0
        while True:
            try:
                data = await self._once(payload)
                break
            except _Retryable as exc:
                if attempt >= self.max_retries:
                    hint = (f"; is a model server running at {self.base_url}? (docs/alignment.md: serving a model)"
                            if str(exc).startswith("connection error") else "")
                    raise BackendError(f"{prompt.custom_id}: gave up after {attempt + 1} attempts ({exc}){hint}") from None
                delay = self._delay(attempt, exc.retry_after)
                log.info("%s: %s, retrying in %.2fs", prompt.custom_id, exc, delay)
                self.stats["retries"] += 1
                attempt += 1
                await asyncio.sleep(delay)
        choice = data["choices"][0]
        usage = data.get("usage") or {}
        p_acc = None
        if logprobs:
            p_acc = p_acceptable_from_openai_logprobs((choice.get("logprobs") or {}).get("content"))
        return Completion(text=choice["message"].get("content"), prompt_tokens=usage.get("prompt_tokens"),
                          completion_tokens=usage.get("completion_tokens"), p_acceptable=p_acc,
                          finish_reason=choice.get("finish_reason"), attempts=attempt + 1)

    async def aclose(self) -> None:
        for c in self._clients:
            await c.aclose()
