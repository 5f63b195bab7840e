"""The ``taxonomy build`` options of the LLM path (``--extractor llm``, ``--namer llm``) and the
objects they make, kept out of ``cli_build`` so that the build command only asks for them."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import click

from moralgap.errors import ConfigError
from moralgap.io import atomic_open

from .llm_client import STRUCTURED_MODES, LLMSettings, PromptTemplate, StructuredLLM

LLM_PARAMS = ("extractor", "namer", "llm_base_url", "llm_model", "llm_api_key_env", "llm_cache", "llm_replay",
              "llm_structured", "llm_concurrency", "llm_max_tokens", "llm_max_attempts", "llm_temperature",
              "llm_timeout", "llm_prompts")
FAILURES_FILE = "llm_failures.jsonl"

_OPTIONS = [
    click.option("--extractor", type=click.Choice(["spacy", "llm"]), default="spacy", show_default=True,
                 help="Who finds value expressions: the spaCy rules, or an LLM listing them per rationale."),
    click.option("--namer", type=click.Choice(["members", "prior", "llm"]), default="members", show_default=True,
                 help="Who names values: their typical members, the lexicon where it fits, or an LLM from the exemplars."),
    click.option("--llm-base-url", default="http://127.0.0.1:8080/v1", show_default=True,
                 help="OpenAI-compatible server (vLLM, llama.cpp server, Ollama, a hosted API)."),
    click.option("--llm-model", default=None, help="Model name sent to the server; part of every cache key."),
    click.option("--llm-api-key-env", default=None, metavar="VAR", help="Environment variable holding the API key (never logged)."),
    click.option("--llm-cache", type=click.Path(dir_okay=False, path_type=Path), default=None,
                 help="JSONL of every LLM request and answer (default: OUT.llm-cache.jsonl beside the output folder)."),
    click.option("--llm-replay", is_flag=True,
                 help="Answer only from --llm-cache, never contact a server; a missing answer is an error."),
    click.option("--llm-structured", type=click.Choice(list(STRUCTURED_MODES)), default="json_schema", show_default=True,
                 help="How the answer's JSON schema is sent: json_schema (vLLM, llama.cpp server, Ollama, OpenAI), "
                      "json_object (llama-cpp-python's server) or none (prompt only; answers are validated either way)."),
    click.option("--llm-concurrency", type=click.IntRange(min=1), default=4, show_default=True, help="LLM requests in flight."),
    click.option("--llm-max-tokens", type=click.IntRange(min=1), default=512, show_default=True, help="Answer length limit."),
    click.option("--llm-max-attempts", type=click.IntRange(min=1), default=3, show_default=True,
                 help="Tries per rationale or value before it is reported as failed (invalid JSON or schema)."),
    click.option("--llm-temperature", type=click.FloatRange(min=0), default=0.0, show_default=True,
                 help="Sampling temperature of the first try (retries use at least 0.7)."),
    click.option("--llm-timeout", type=click.FloatRange(min=0, min_open=True), default=120.0, show_default=True,
                 help="Seconds per request."),
    click.option("--llm-prompts", type=click.Path(file_okay=False, exists=True, path_type=Path), default=None,
                 help="Folder with your own extract_values / name_value templates (.txt and .schema.json)."),
]


def llm_options(fn):
    for opt in reversed(_OPTIONS):
        fn = opt(fn)
    return fn


def default_cache_path(out: Path) -> Path:
    # Beside the output folder, not inside it: the build replaces that folder whole.
    return out.parent / f"{out.name}.llm-cache.jsonl"


@dataclass
class LLMParts:
    """What ``--extractor llm`` / ``--namer llm`` make: the shared client, extractor and namer."""

    options: dict
    client: Optional[StructuredLLM] = None
    extractor: Any = None
    namer: Any = "members"
    failures: list = field(default_factory=list)

    @classmethod
    def from_options(cls, options: dict, *, out: Path, seed: int) -> "LLMParts":
        opts = {k: options.get(k) for k in LLM_PARAMS}
        parts = cls(opts, namer=opts["namer"] or "members")
        if opts["extractor"] != "llm" and opts["namer"] != "llm":
            if opts["llm_replay"]:
                raise ConfigError("--llm-replay needs --extractor llm or --namer llm")
            return parts
        if not opts["llm_model"]:
            raise ConfigError("--extractor llm / --namer llm need --llm-model (the model name the server serves)")
        settings = LLMSettings(model=opts["llm_model"], base_url=opts["llm_base_url"], structured=opts["llm_structured"],
                               temperature=opts["llm_temperature"], max_tokens=opts["llm_max_tokens"],
                               max_attempts=opts["llm_max_attempts"], concurrency=opts["llm_concurrency"],
                               timeout_s=opts["llm_timeout"], api_key_env=opts["llm_api_key_env"], seed=seed)
        cache = Path(opts["llm_cache"] or default_cache_path(out))
        if cache.resolve().is_relative_to(out.resolve()):
            # The build swaps its output folder in whole, which would delete the cache with it.
            raise ConfigError(f"--llm-cache {cache} lies inside --out {out}, which the build replaces; keep it outside")
        if opts["llm_replay"] and not cache.is_file():
            raise ConfigError(f"--llm-replay needs an existing LLM cache; {cache} does not exist (see --llm-cache)")
        parts.client = StructuredLLM(settings, cache, replay=bool(opts["llm_replay"]))
        folder = opts["llm_prompts"]
        if opts["extractor"] == "llm":
            from .llm_extract import TEMPLATE, LLMExtractor

            parts.extractor = LLMExtractor(parts.client, template=PromptTemplate.load(TEMPLATE, folder) if folder else None)
        if opts["namer"] == "llm":
            from .llm_namer import TEMPLATE, LLMNamer

            parts.namer = LLMNamer(parts.client, template=PromptTemplate.load(TEMPLATE, folder) if folder else None)
        return parts

    @property
    def active(self) -> bool:
        return self.client is not None

    def params(self) -> dict:
        """For the manifest's params: the options as given (the key's variable name only)."""
        # "llm_max_tokens" would read as a secret to the manifest (it redacts "token" names).
        return {("llm_answer_limit" if k == "llm_max_tokens" else k): (str(v) if isinstance(v, Path) else v)
                for k, v in self.options.items()}

    def record(self, manifest) -> None:
        if not self.active:
            return
        manifest.add_model("llm", self.client.settings.model, **self.client.describe())
        counts = {f"llm_{k}": v for k, v in self.client.stats.items()}
        for part in (self.extractor, self.namer):
            if hasattr(part, "stats"):
                prefix = "llm_extract" if part is self.extractor else "llm_name"
                counts.update({f"{prefix}_{k}": v for k, v in part.stats.items()})
        manifest.count(**counts)

    def all_failures(self) -> list[dict]:
        return [f for part in (self.extractor, self.namer) for f in getattr(part, "failures", [])]

    def write_failures(self, folder: Path) -> Optional[Path]:
        """``llm_failures.jsonl`` in the build folder: every rationale or value without a valid answer."""
        rows = self.all_failures()
        if not rows:
            return None
        path = folder / FAILURES_FILE
        with atomic_open(path) as fh:
            for r in rows:
                fh.write(json.dumps(r, ensure_ascii=False) + "\n")
        return path

    def summary(self) -> Optional[str]:
        if not self.active:
            return None
        st = self.client.stats
        fails = self.all_failures()
        by_stage = {s: sum(1 for f in fails if f["stage"] == s) for s in ("extract", "name")}
        return (f"LLM {self.client.settings.model}: {st['requests']} requests, {st['cache_hits']} cache hits, "
                f"{st['invalid_answers']} invalid answers retried; failed: {by_stage['extract']} rationales, "
                f"{by_stage['name']} values" + (f" (see {FAILURES_FILE})" if fails else ""))
