"""Fine-tuning the top layers of the sentence encoder on value labels, on a CPU.

The lower layers stay frozen and their output for every training text is computed once, so
each epoch runs only the top ``trainable_layers`` transformer layers forward and backward: on
two CPU cores this is what makes several epochs over a few thousand texts affordable. The head
is one linear layer per value over the L2-normalised mean-pooled embedding, i.e. exactly what
:class:`annotation.classifier.LinearMember` applies to :class:`taxonomy.embed.Embedder` output,
so the fine-tuned encoder is saved as an ordinary sentence-transformers folder (safetensors)
and read back through the same Embedder.
"""
from __future__ import annotations

import hashlib
import json
import logging
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from moralgap.models import offline_mode, resolve_embedding_model
from moralgap.progress import progress
from moralgap.seeding import rng, seed_everything

log = logging.getLogger(__name__)

FINETUNE_FILE = "moralgap_finetune.json"
# Cosine similarities live in [-1, 1]; the head needs a larger range to reach confident logits.
EMBEDDING_SCALE = 8.0


@dataclass
class FinetuneResult:
    folder: Path  # a temporary sentence-transformers folder holding the tuned encoder
    coef: np.ndarray
    intercept: np.ndarray
    info: dict

    @property
    def embedder(self):
        from moralgap.taxonomy.embed import Embedder

        return Embedder(str(self.folder))

    def save(self, out: Path) -> None:
        out = Path(out)
        if out.exists():
            shutil.rmtree(out)
        shutil.copytree(self.folder, out)


def _pad(states: list, dim: int):
    import torch

    n = max(len(h) for h in states)
    x = torch.zeros(len(states), n, dim)
    mask = torch.zeros(len(states), n)
    for i, h in enumerate(states):
        x[i, : len(h)] = h
        mask[i, : len(h)] = 1
    return x, mask


def _additive(mask):
    import torch

    return (1.0 - mask[:, None, None, :]) * torch.finfo(torch.float32).min


def _run_layers(layers, x, mask):
    ext = _additive(mask)
    for layer in layers:
        out = layer(x, attention_mask=ext)
        x = out[0] if isinstance(out, tuple) else out
    return x


def finetune_encoder(texts: Sequence[str], labels: np.ndarray, *, base_model: str | None = None, epochs: int = 3,
                     trainable_layers: int = 3, batch_size: int = 32, lr: float = 1e-4, head_lr: float = 3e-3,
                     max_length: int = 128, seed: int = 13) -> FinetuneResult:
    """Tune the top layers and a per-value head with binary cross-entropy; return the tuned encoder."""
    import torch
    from sentence_transformers import SentenceTransformer

    offline_mode()
    seed_everything(seed)
    path = resolve_embedding_model(base_model)
    st = SentenceTransformer(path, device="cpu")
    bert = st[0].auto_model
    tok = st.tokenizer
    layers = bert.encoder.layer
    n_frozen = max(0, len(layers) - trainable_layers)
    top = layers[n_frozen:]
    dim = bert.config.hidden_size
    Y = torch.tensor(np.asarray(labels, dtype=np.float32))
    max_length = min(max_length, st.max_seq_length)

    # Frozen part, once: token states after the last frozen layer, without padding.
    bert.eval()
    lengths = np.array([len(t) for t in texts])
    order = np.argsort(lengths, kind="stable")
    states: list = [None] * len(texts)
    with torch.no_grad():
        for i in progress(range(0, len(texts), 64), desc="encoding frozen layers", unit="batch"):
            ids = order[i: i + 64]
            b = tok([texts[j] for j in ids], padding=True, truncation=True, max_length=max_length, return_tensors="pt")
            h = bert.embeddings(input_ids=b["input_ids"], token_type_ids=b.get("token_type_ids"))
            h = _run_layers(layers[:n_frozen], h, b["attention_mask"].float())
            for k, j in enumerate(ids):
                states[j] = h[k, : int(b["attention_mask"][k].sum())].clone()
    n_tokens = np.array([len(s) for s in states])

    head = torch.nn.Linear(dim, Y.shape[1])
    params = [p for layer in top for p in layer.parameters()]
    opt = torch.optim.AdamW([{"params": params, "lr": lr}, {"params": head.parameters(), "lr": head_lr}],
                            weight_decay=0.01)
    steps = max(1, epochs * int(np.ceil(len(texts) / batch_size)))
    warmup = max(1, int(0.06 * steps))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / warmup) * max(0.0, (steps - s) / steps))
    loss_fn = torch.nn.BCEWithLogitsLoss()
    gen = rng(seed, "finetune-batches")

    def forward(batch_states):
        x, mask = _pad(batch_states, dim)
        x = _run_layers(top, x, mask)
        pooled = (x * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)
        return head(torch.nn.functional.normalize(pooled, dim=-1) * EMBEDDING_SCALE)

    for layer in top:
        layer.train()
    losses = []
    bar = progress(total=steps, desc="fine-tuning", unit="batch")
    for _ in range(epochs):
        # Batches of similar length waste less time on padding; groups keep them shuffled.
        idx = gen.permutation(len(texts))
        batches = []
        for g in range(0, len(idx), batch_size * 50):
            group = idx[g: g + batch_size * 50]
            group = group[np.argsort(n_tokens[group], kind="stable")]
            batches += [group[i: i + batch_size] for i in range(0, len(group), batch_size)]
        for k in gen.permutation(len(batches)):
            batch = batches[k]
            loss = loss_fn(forward([states[j] for j in batch]), Y[batch])
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params + list(head.parameters()), 1.0)
            opt.step()
            sched.step()
            opt.zero_grad()
            losses.append(float(loss.detach()))
            bar.update(1)
    bar.close()
    bert.eval()

    folder = Path(tempfile.mkdtemp(prefix="moralgap-encoder-"))
    st.save(str(folder))
    weights = sorted(folder.rglob("*.safetensors"))
    digest = hashlib.sha256(b"".join(w.read_bytes() for w in weights)).hexdigest()
    info = {"base_model": Path(path).name, "epochs": epochs, "trainable_layers": trainable_layers, "lr": lr,
            "head_lr": head_lr, "batch_size": batch_size, "max_length": max_length, "seed": seed,
            "n_texts": len(texts), "final_loss": round(float(np.mean(losses[-20:])), 5) if losses else None,
            "weights_sha256": digest}
    # Kept beside the weights so a saved encoder says how it was tuned (the Embedder's cache
    # key already differs from the base model's: it hashes the weights).
    (folder / FINETUNE_FILE).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    with torch.no_grad():
        coef = head.weight.numpy().astype(np.float64) * EMBEDDING_SCALE
        intercept = head.bias.numpy().astype(np.float64)
    return FinetuneResult(folder, coef, intercept, info)
