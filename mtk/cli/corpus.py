"""``mtk corpus``: build training and evaluation corpora from real melodies and recorded kits."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from mtk.cli import common
from mtk.cli.options import DEFAULT_TUNE_SOURCES, Force, Jobs, Quiet, Seed, SkipExisting, TuneSources, Verbose

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Build training and evaluation corpora from real melodies, soundfonts and drum kits.",
)

SONGS_EPILOG = """Examples:

  mtk corpus songs data/songs --count 500 --seed 1 -j 2

  mtk corpus songs data/covers --count 100 --versions 4 --splits test

  mtk corpus stats data/songs
"""


def _csv(value: Optional[str]) -> Optional[tuple[str, ...]]:
    return None if value is None else tuple(v.strip() for v in value.split(",") if v.strip())


SONGS_HELP = (
    "Arrange real melodies in many styles and render them to multitrack songs with exact ground truth.\n\n"
    "Each song folder holds mix.wav, stems/, drums.wav, drumless.wav, song.mid, drums.mid and meta.json "
    "(beats, downbeats, phrases, chords, every drum hit). One JSON line per song on stdout; OUT/corpus.json "
    "and OUT/index.jsonl describe the corpus. The same seed and installed packages give the same bytes."
)


@app.command("songs", help=SONGS_HELP, epilog=SONGS_EPILOG)
def songs(
    out: Annotated[Path, typer.Argument(metavar="OUT", help="Corpus folder (created).")],
    count: Annotated[int, typer.Option("--count", "-n", min=1, help="Number of works.")] = 10,
    versions: Annotated[int, typer.Option("--versions", min=1, help="Arrangements per work (clique size).")] = 1,
    harmonizations: Annotated[
        bool,
        typer.Option(
            "--harmonizations", help="Versions of a Bach chorale tune take turns among Bach's harmonizations of it."
        ),
    ] = False,
    seed: Seed = None,
    sources: TuneSources = DEFAULT_TUNE_SOURCES,
    styles: Annotated[Optional[str], typer.Option("--styles", help="Styles to draw from (default: all).")] = None,
    splits: Annotated[str, typer.Option("--splits", help="Splits to build, comma-separated.")] = "train,valid,test",
    soundfonts: Annotated[
        Optional[str], typer.Option("--soundfonts", metavar="SF2,...", help="Soundfonts (default: all installed).")
    ] = None,
    test_soundfonts: Annotated[
        Optional[str],
        typer.Option(
            "--test-soundfonts", metavar="SF2,...", help="Held out for the test split (default: the last installed)."
        ),
    ] = None,
    kits: Annotated[
        Optional[str], typer.Option("--kits", help="Recorded kits to use (default: all installed).")
    ] = None,
    test_kits: Annotated[
        Optional[str],
        typer.Option(
            "--test-kits",
            help="Kits held out for the test split (default: The Black Pearl 1.0, ForzeeStereo, and the exported "
            "kits of the test soundfonts).",
        ),
    ] = None,
    kits_dir: Annotated[
        Optional[list[Path]],
        typer.Option(
            "--kits-dir",
            metavar="DIR",
            help="Also drum with the kits of a `mtk corpus oneshots` export (e.g. soundfont kits; repeatable).",
        ),
    ] = None,
    soundfont_drums: Annotated[
        float,
        typer.Option("--soundfont-drums", min=0.0, max=1.0, help="Share of songs drummed by the soundfont's own kit."),
    ] = 0.25,
    kit_affinity: Annotated[
        float,
        typer.Option(
            "--kit-affinity",
            min=0.0,
            max=1.0,
            help="Chance that a song's kit suits its style, as producers choose (electronic kits for electronic "
            "music, jazz and brush kits for swing...); 0: kits drawn regardless of style.",
        ),
    ] = 0.0,
    artists: Annotated[
        int,
        typer.Option(
            "--artists",
            min=0,
            help="Simulated bands playing the songs, each with one style, instrumentation, sound and mix, on releases "
            "of 4 songs (0: every song drawn on its own).",
        ),
    ] = 0,
    labels: Annotated[
        int, typer.Option("--labels", min=0, help="Labels publishing the bands (0: one for every four bands).")
    ] = 0,
    drum_parts: Annotated[
        str,
        typer.Option(
            "--drum-parts",
            help="Where drum parts come from, comma-separated, one drawn per song: groove (the style's MMA groove), "
            "fills (with MMA's intros, fills and endings), pflib (Peter Falk's MMA grooves: sections A and B, "
            "fill-ins, endings), hydrogen (Hydrogen's demo songs, written by people; "
            "two held out for the test split), generated (fills, tom runs, crashes, ghost notes, open hi-hats, "
            "flams, half and double time, ride and shuffle phrases, tempos 55-210). Labelled in meta.json.",
        ),
    ] = "groove",
    engines: Annotated[
        Optional[str],
        typer.Option(
            "--engines",
            metavar="ENGINE,...",
            help="Synthesis engines, one drawn per version: fluidsynth, builtin (midirenderer), timidity (TiMidity++); "
            "versions of a work then differ in production too (default: fluidsynth when installed). In meta.json.",
        ),
    ] = None,
    test_engines: Annotated[
        Optional[str],
        typer.Option(
            "--test-engines",
            metavar="ENGINE,...",
            help="Engines held out for the test split, whose versions draw from every engine (default: the last of "
            "several --engines).",
        ),
    ] = None,
    sample_rate: Annotated[int, typer.Option("--sample-rate", "-r", help="Sample rate of the WAV files.")] = 44_100,
    max_seconds: Annotated[
        float, typer.Option("--max-seconds", help="Cut songs at the last whole bar before this (0: whole tunes).")
    ] = 30.0,
    jobs: Jobs = 1,
    skip_existing: SkipExisting = False,
    force: Force = False,
    quiet: Quiet = False,
    verbose: Verbose = False,
) -> None:
    """Arrange real melodies in many styles and render them to multitrack songs with exact ground truth."""
    from mtk.corpus.build import CorpusOptions, build_songs, check_tools, plan_corpus, write_summary
    from mtk.corpus.drumparts import parse_sources
    from mtk.errors import UsageError
    from mtk.io.records import JsonLinesWriter

    try:
        parts = parse_sources(drum_parts)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    check_tools()
    if seed is None:
        import random

        seed = random.SystemRandom().randrange(2**31)
        common.warn(f"no --seed given; using --seed {seed}")
    opts = CorpusOptions(
        count=count,
        seed=seed,
        versions=versions,
        harmonizations=harmonizations,
        sources=_csv(sources) or (),
        styles=_csv(styles) or CorpusOptions.styles,
        soundfonts=_csv(soundfonts) or (),
        test_soundfonts=_csv(test_soundfonts),
        kits=_csv(kits),
        test_kits=_csv(test_kits),
        kit_dirs=tuple(str(d) for d in kits_dir or ()),
        kit_affinity=kit_affinity,
        soundfont_drums=soundfont_drums,
        sample_rate=sample_rate,
        max_seconds=max_seconds or None,
        splits=_csv(splits) or (),
        artists=artists,
        labels=labels,
        drum_parts=parts,
        engines=_csv(engines) or (),
        test_engines=_csv(test_engines),
    )
    try:
        plan = plan_corpus(opts, jobs=jobs)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    skipped = sum(plan.skipped.values())
    if skipped:
        reasons = ", ".join(f"{n} {why}" for why, n in plan.skipped.most_common())
        common.warn(f"skipped {skipped} works that could not be used ({reasons})")
    if len({s.work.work_id for s in plan.songs}) < count:
        common.warn(f"only {len({s.work.work_id for s in plan.songs})} usable works in the chosen sources and splits")
    if not plan.test_soundfonts and "test" in opts.splits:
        common.warn("only one soundfont available: the test split shares it with training (make corpus-deps)")
    writer, records = JsonLinesWriter(), []
    songs_iter = build_songs(
        plan,
        out,
        jobs=jobs,
        skip_existing=skip_existing,
        force=force,
        progress=lambda items: common.progress(items, label="songs"),
    )
    for record in songs_iter:
        records.append(record)
        if "error" in record:
            print(f"{common.STATE.command}: error: {record['id']}: {record['error']}", file=sys.stderr)
        writer.write(record)
    summary = write_summary(out, plan, opts, ["mtk", *sys.argv[1:]], records)
    if summary["failed"]:
        raise typer.Exit(1)


ONESHOTS_EPILOG = """Examples:

  mtk corpus oneshots data/oneshots

  mtk corpus oneshots data/sfkits --no-recorded --soundfonts all

  mtk corpus oneshots data/oneshots --soundfonts all --variants 3

  mtk corpus songs data/rank -n 300 --kits-dir data/sfkits --soundfont-drums 0
"""


@app.command("oneshots", epilog=ONESHOTS_EPILOG)
def oneshots(
    out: Annotated[Path, typer.Argument(metavar="OUT", help="Folder for OUT/<kit>/<class>/<name>.wav.")],
    kits: Annotated[
        Optional[str], typer.Option("--kits", help="Recorded kits to export (default: all installed).")
    ] = None,
    soundfonts: Annotated[
        Optional[str],
        typer.Option(
            "--soundfonts",
            metavar="SF2,...|all",
            help="Also export these soundfonts' drum kits (Standard, Room, Power, Electronic, TR-808, Jazz, Brush, "
            "Orchestra; each kit note at velocities 40, 80, 120); all: every installed soundfont.",
        ),
    ] = None,
    recorded: Annotated[
        bool, typer.Option("--recorded/--no-recorded", help="Export the installed recorded kits.")
    ] = True,
    variants: Annotated[
        int,
        typer.Option(
            "--variants",
            min=0,
            max=20,
            help="Also write N variant kits of every kit, 'KIT (variant N)': the kit's sounds tuned, filtered, "
            "tightened or driven alike (mtk corpus songs keeps a held-out kit's variants out of every split).",
        ),
    ] = 0,
    variant_seed: Annotated[int, typer.Option("--variant-seed", help="Seed of the variants' redesigns.")] = 0,
    sample_rate: Annotated[int, typer.Option("--sample-rate", "-r", help="Sample rate of the WAV files.")] = 44_100,
    force: Force = False,
    quiet: Quiet = False,
    verbose: Verbose = False,
) -> None:
    """Export drum one-shots, classed and normalized, with a JSON Lines index: every installed recorded kit's
    velocity layers, and with --soundfonts the drum kits of General MIDI soundfonts rendered note by note."""
    from mtk.corpus.oneshots import export_oneshots
    from mtk.corpus.render import choose_synth
    from mtk.corpus.soundfonts import bundled_soundfont, general_midi_soundfonts, installed_soundfonts
    from mtk.errors import UsageError
    from mtk.io.records import JsonLinesWriter

    fonts = _csv(soundfonts) or ()
    if fonts == ("all",):  # the system's soundfonts (pretty-midi's copy of TimGM6mb is a duplicate)
        found = [p for p in installed_soundfonts(sf3=True) if p != bundled_soundfont()]
        fonts = tuple(str(p) for p in general_midi_soundfonts(found, (), drums=True))  # those with drum kits
    if fonts:
        choose_synth("fluidsynth")  # one clear line when FluidSynth is missing
    if not recorded and not fonts:
        raise UsageError("nothing to export", hint="keep the recorded kits or name --soundfonts")
    writer = JsonLinesWriter()
    for record in export_oneshots(
        out,
        sample_rate=sample_rate,
        kits=_csv(kits),
        soundfonts=fonts,
        recorded=recorded,
        variants=variants,
        variant_seed=variant_seed,
        force=force,
    ):
        writer.write(record)


CATALOGUE_HELP = (
    "Write the metadata catalogue mtk embed trains on: path,track,release,artist,label,split, one row per "
    "recording, from song corpora built with --artists (their artist, release and label) and from folders of "
    "recorded music (each file's album and artist tags; the label named as DIR=LABEL, else the folder's name; "
    "a split by artist, so whole artists are held out). Prints one JSON line per source with its counts: files, "
    "releases, artists, labels, files without an artist or release, files per split."
)
CATALOGUE_EPILOG = """Examples:

  mtk corpus catalogue data/bands -o data/catalogue.csv

  mtk corpus catalogue data/bands /usr/share/games/wesnoth/1.16/data/core/music=wesnoth -o data/catalogue.csv
"""


@app.command("catalogue", help=CATALOGUE_HELP, epilog=CATALOGUE_EPILOG)
def catalogue(
    sources: Annotated[
        list[str], typer.Argument(metavar="SOURCE...", help="Song corpora and music folders (DIR or DIR=LABEL).")
    ],
    output: Annotated[str, typer.Option("-o", "--output", metavar="CSV", help="The catalogue to write.")],
    force: Force = False,
    quiet: Quiet = False,
    verbose: Verbose = False,
) -> None:
    from mtk.corpus.catalogue import check_source, label_of, relative_to, source_rows, summary, write_csv
    from mtk.errors import MtkError
    from mtk.io.files import atomic_write, check_writable
    from mtk.io.inputs import AUDIO_EXTENSIONS
    from mtk.io.records import JsonLinesWriter

    check_writable(output, force=force)
    specs = [label_of(spec) for spec in sources]
    for folder, _ in specs:  # arguments that are no folder are usage errors, before any work
        check_source(folder)
    writer, rows, failures = JsonLinesWriter(), [], 0
    for folder, label in specs:
        try:
            found = source_rows(folder, label=label, extensions=AUDIO_EXTENSIONS)
            if not found:
                raise MtkError(f"{folder}: no recordings (a corpus built without --artists, or no readable audio)")
        except MtkError as exc:
            failures += 1
            print(f"{common.STATE.command}: error: {exc}", file=sys.stderr)
            writer.write({"input": folder, "error": str(exc)})
            continue
        rows += found
        writer.write({"input": folder, **({"label": label} if label else {}), **summary(found)})
    if rows:
        atomic_write(output, write_csv(relative_to(rows, Path(output).parent)), force=force)
        common.info(f"{output}: {len(rows)} recordings")
    if failures:
        raise typer.Exit(1)


STREAMS_HELP = (
    "Simulate listening streams for mtk situate: users with demographics and habits, situations with "
    "their hours, devices and networks, and tracks from mtk song corpora chosen by what they sound like "
    "(tempo, energy, style) and by each user's taste. Simulated, not observed: for training and tests.\n\n"
    "Writes OUT/streams.jsonl (labelled streams), OUT/history.jsonl (each user's unlabelled plays), "
    "OUT/users.jsonl and OUT/streams.json (command, seed, counts). Prints the summary as one JSON line."
)
STREAMS_EPILOG = """Examples:

  mtk corpus streams data/streams --audio data/songs --users 2000 --streams 100000 --seed 1

  mtk situate data/streams/streams.jsonl --audio data/songs
"""


@app.command("streams", help=STREAMS_HELP, epilog=STREAMS_EPILOG)
def streams(
    out: Annotated[Path, typer.Argument(metavar="OUT", help="Folder for the stream files (created).")],
    audio: Annotated[list[Path], typer.Option("--audio", metavar="CORPUS", help="An mtk song corpus (repeatable).")],
    users: Annotated[int, typer.Option("--users", min=2, help="Number of users.")] = 1000,
    n_streams: Annotated[int, typer.Option("--streams", min=1, help="Number of labelled streams.")] = 50_000,
    seed: Seed = None,
    force: Force = False,
    quiet: Quiet = False,
    verbose: Verbose = False,
) -> None:
    """Simulate listening streams (situation, device, demographics, track) for mtk situate."""
    from mtk.io.records import JsonLinesWriter
    from mtk.situate.simulate import write_streams_corpus

    if seed is None:
        import random

        seed = random.SystemRandom().randrange(2**31)
        common.warn(f"no --seed given; using --seed {seed}")
    summary = write_streams_corpus(
        out, audio, n_users=users, n_streams=n_streams, seed=seed, command=["mtk", *sys.argv[1:]], force=force
    )
    JsonLinesWriter().write(summary)


@app.command("stats")
def stats(
    corpus: Annotated[Path, typer.Argument(metavar="CORPUS", help="A folder built by `mtk corpus songs`.")],
    quiet: Quiet = False,
    verbose: Verbose = False,
) -> None:
    """One JSON object: songs, hours, works, and counts per split, style, meter, kit, soundfont and drum class."""
    from mtk.corpus.stats import corpus_stats
    from mtk.io.records import JsonLinesWriter

    JsonLinesWriter().write(corpus_stats(corpus))
