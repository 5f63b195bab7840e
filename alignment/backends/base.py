"""The one small interface every backend implements."""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Optional

from moralgap.errors import MoralgapError
from moralgap.seeding import _key_ints

from ..parse import ParsedAnswer
from ..prompts_file import PromptLine


class BackendError(MoralgapError):
    """A prompt that could not be answered (after retries); the run leaves it for a restart."""


@dataclass
class Completion:
    text: Optional[str]
    prompt_tokens: Optional[int] = None
    completion_tokens: Optional[int] = None
    p_acceptable: Optional[float] = None
    finish_reason: Optional[str] = None
    # Set by backends that hand back an already-parsed verdict (replay) instead of raw text.
    parsed: Optional[ParsedAnswer] = None
    attempts: int = 1


def request_seed(run_seed: int | None, custom_id: str) -> int:
    """A per-prompt sampling seed: the same prompt gets the same seed after a restart."""
    a, b = _key_ints(run_seed if run_seed is not None else 0, custom_id)
    return (a * 1_000_003 + b) % (2**31 - 1)


class Backend(ABC):
    """Answers prompt lines. ``kind`` names the backend, ``model`` the judge it records."""

    kind: str = "backend"
    model: str = "model"
    #: how many requests the runner may keep in flight
    concurrency: int = 1

    @abstractmethod
    async def complete(self, prompt: PromptLine, *, seed: int, logprobs: bool = False) -> Completion:
        """One answer for one prompt, or :class:`BackendError`."""

    async def aclose(self) -> None:
        return None

    def describe(self) -> dict:
        """What the run manifest records about the backend (never a key)."""
        return {"kind": self.kind, "model": self.model, "concurrency": self.concurrency}
