"""Training the infilling Transformer: resumable, on the tune books' training split.

Every step draws ``batch`` examples (:func:`mtk.infill.data.examples`) from the training
melodies; with probability ``struct_dropout`` an example's structural context is left out,
so one model serves both with and without structure (the structure-agnostic comparison
switches it off). Cross-entropy on the target tokens only. Checkpoints (``run/last.pt``)
every ``checkpoint_every`` steps; ``run/log.jsonl`` has the loss.

A new run may start from earlier weights (``init``): the layers are copied, and the token
embedding and output rows are matched by token name, so weights trained on another
vocabulary (:func:`mtk.infill.tokens.vocabulary_v1`: before every meter had a token) carry what they learnt
and new tokens start at the mean of the old rows.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mtk.infill.data import Example, examples, from_json
from mtk.infill.sequence import Sequences, build
from mtk.trainlog import StepLog

ARCH = "infill-structformer"


@dataclass
class TrainOptions:
    steps: int = 2_500
    batch: int = 16
    lr: float = 5e-4
    warmup: int = 300
    struct_dropout: float = 0.25
    max_tokens: int = 1024  # longer examples are left out
    seed: int = 0
    device: str = "cpu"
    checkpoint_every: int = 200
    log_every: int = 20
    init: str | None = None  # weights to start a new run from (registry name or file)


def initial_weights(name_or_path: str, vocab: list[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The config and state of ``name_or_path`` (registry name or file) over ``vocab``."""
    from mtk.infill.model import over_vocabulary
    from mtk.weights.checkpoint import load_checkpoint
    from mtk.weights.store import resolve

    return over_vocabulary(load_checkpoint(resolve(name_or_path, task="infill").path, arch=ARCH), vocab)


def learning_rate(step: int, opts: TrainOptions) -> float:
    """Linear warm-up, then a cosine decay to a tenth of the peak at ``opts.steps``."""
    if step < opts.warmup:
        return opts.lr * (step + 1) / opts.warmup
    progress = min(1.0, (step - opts.warmup) / max(1, opts.steps - opts.warmup))
    return opts.lr * (0.1 + 0.45 * (1 + math.cos(math.pi * progress)))


def _similar_lengths(n: int, batch: int, rng: np.random.Generator, *, spread: int = 4) -> np.ndarray:
    """``batch`` indices into a pool sorted by length, drawn from a window of ``spread`` x
    ``batch`` neighbours of a random example: batches of similar lengths, so little padding
    (on the tune books, the mean padded length of a batch of 16 falls from 425 tokens to
    about the mean example's 298)."""
    if n <= batch:
        return np.arange(n)
    width = min(n, spread * batch)
    lo = int(np.clip(rng.integers(n) - width // 2, 0, n - width))
    return lo + rng.choice(width, size=batch, replace=False)


def training_examples(records: list[dict[str, Any]], split: str = "train") -> list[Example]:
    """Every example of the melodies of ``split``."""
    return [ex for r in records if r["split"] == split for ex in examples(from_json(r))]


def collate(seqs: list[Sequences]) -> dict[str, Any]:
    """Padded tensors of a batch (token 0 is PAD; padding's context id is -1) and the loss mask."""
    import torch

    t = max(len(s.tokens) for s in seqs)
    e = max(len(s.struct) for s in seqs)
    out = {
        "tokens": torch.zeros(len(seqs), t, dtype=torch.long),
        "orders": torch.zeros(len(seqs), t, dtype=torch.long),
        "contexts": torch.full((len(seqs), t), -1, dtype=torch.long),
        "struct_tokens": torch.zeros(len(seqs), e, dtype=torch.long),
        "struct_contexts": torch.full((len(seqs), e), -1, dtype=torch.long),
        "loss_mask": torch.zeros(len(seqs), t, dtype=torch.bool),
    }
    for i, s in enumerate(seqs):
        n = len(s.tokens)
        out["tokens"][i, :n] = torch.tensor(s.tokens)
        out["orders"][i, :n] = torch.tensor(s.orders)
        out["contexts"][i, :n] = torch.tensor(s.contexts)
        out["struct_tokens"][i, : len(s.struct)] = torch.tensor(s.struct, dtype=torch.long)
        out["struct_contexts"][i, : len(s.struct)] = 0
        out["loss_mask"][i, s.target_start : n] = True  # predicted: the target after GAP, and EOS
    return out


def loss_of(model: Any, batch: dict[str, Any]) -> Any:
    """Mean cross-entropy of the next token over the batch's target positions."""
    import torch

    logits = model(
        batch["tokens"], batch["orders"], batch["contexts"], batch["struct_tokens"], batch["struct_contexts"]
    )
    predict = batch["loss_mask"][:, 1:]  # position p predicts token p + 1
    return torch.nn.functional.cross_entropy(logits[:, :-1][predict], batch["tokens"][:, 1:][predict])


def train(
    records: list[dict[str, Any]],
    run: Path,
    opts: TrainOptions,
    *,
    on_log: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Train (or resume) in ``run``; returns the last log record."""
    import torch

    from mtk.infill.model import InfillConfig, InfillTransformer
    from mtk.infill.tokens import VOCAB
    from mtk.weights.checkpoint import load_checkpoint, save_checkpoint

    run.mkdir(parents=True, exist_ok=True)
    last = run / "last.pt"
    state = load_checkpoint(last, arch=ARCH) if last.exists() else None
    init = initial_weights(opts.init, VOCAB) if opts.init and not state else None
    cfg = InfillConfig(**(state["config"] if state else init[0] if init else {"vocab": len(VOCAB)}))
    sized = [(len(build(ex).tokens), i, ex) for i, ex in enumerate(training_examples(records))]
    pool = [ex for n, _, ex in sorted(sized, key=lambda x: x[:2]) if n <= opts.max_tokens]  # by length
    if not pool:
        raise ValueError("no training example")
    torch.manual_seed(opts.seed)
    model = InfillTransformer(cfg).to(opts.device)
    optim = torch.optim.AdamW(model.parameters(), lr=opts.lr, weight_decay=0.01)
    step = 0
    if state:
        model.load_state_dict(state["state_dict"])
        optim.load_state_dict(state["optimizer"])
        step = int(state["step"])
    elif init:
        model.load_state_dict(init[1])
    rng = np.random.default_rng([opts.seed, step])  # a resumed run draws new batches

    def save() -> None:
        save_checkpoint(
            last,
            arch=ARCH,
            config=cfg.to_dict(),
            state_dict=model.state_dict(),
            optimizer=optim.state_dict(),
            step=step,
            meta={"examples": len(pool), "melodies": len(records), "options": asdict(opts), "vocabulary": VOCAB},
        )

    record: dict[str, Any] = {}
    model.train()
    with (run / "log.jsonl").open("a") as log_file:
        log = StepLog(log_file, on_log)
        while step < opts.steps:
            picks = _similar_lengths(len(pool), opts.batch, rng)
            seqs = [build(pool[i], use_struct=rng.random() >= opts.struct_dropout) for i in picks]
            batch = {k: v.to(opts.device) for k, v in collate(seqs).items()}
            for group in optim.param_groups:
                group["lr"] = learning_rate(step, opts)
            loss = loss_of(model, batch)
            optim.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optim.step()
            step += 1
            log.add(loss.item())
            if step % opts.log_every == 0 or step == opts.steps:
                record = log.record(step)
            if step % opts.checkpoint_every == 0 or step == opts.steps:
                save()
    return record
