"""Plan and build a song corpus: work selection, splits, versions, sounds, parallel rendering.

Splits are by work and do not depend on the seed: a work's split is a hash of its id, so no
melody (and no Bach tune, whatever its harmonization) is in two splits of any corpus. The
test split is rendered only with held-out soundfonts and recorded kits; train and
validation never use them.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import logging
import re
import subprocess
import sys
import zlib
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache, partial
from pathlib import Path
from typing import Any

import numpy as np

from mtk import __version__
from mtk.corpus.arrange import mma_executable
from mtk.corpus.kits import Kit, installed_kits, kit_family
from mtk.corpus.oneshots import load_export_kits, variant_base
from mtk.corpus.render import fluidsynth_executable
from mtk.corpus.songs import Band, SongPlan, build_song, index_record
from mtk.corpus.soundfonts import (
    GM_PROGRAMS,
    check_soundfont,
    general_midi_soundfonts,
    installed_soundfonts,
    missing_presets,
)
from mtk.corpus.styles import STYLE_KIT_FAMILIES, STYLES
from mtk.corpus.works import DEFAULT_SOURCES, Work, WorkRef, WorkSkipped, list_works, parse_work
from mtk.errors import MtkError, OutputExistsError, UsageError
from mtk.io.files import atomic_write
from mtk.io.records import dumps
from mtk.parallel import worker_pool

logger = logging.getLogger(__name__)
SPLITS = (("test", 10), ("valid", 10), ("train", 80))  # percent of works
DEFAULT_TEST_KITS = ("The Black Pearl 1.0", "ForzeeStereo")
COMPOUND_STYLES = ("folk", "ballad", "swing", "country", "rock")


@dataclass
class CorpusOptions:
    count: int
    seed: int = 0
    versions: int = 1
    harmonizations: bool = False  # versions of a Bach tune cycle through its harmonizations
    sources: tuple[str, ...] = DEFAULT_SOURCES
    styles: tuple[str, ...] = tuple(STYLES)
    soundfonts: tuple[str, ...] = ()
    test_soundfonts: tuple[str, ...] | None = None
    kits: tuple[str, ...] | None = None
    test_kits: tuple[str, ...] | None = None
    soundfont_drums: float = 0.25  # share of songs drummed by the soundfont's kit
    kit_dirs: tuple[str, ...] = ()  # `mtk corpus oneshots` exports whose kits join the installed ones
    kit_affinity: float = 0.0  # chance that a song's kit is drawn from its style's kit families
    sample_rate: int = 44_100
    max_seconds: float | None = 30.0
    splits: tuple[str, ...] = ("train", "valid", "test")
    artists: int = 0  # simulated bands playing the songs (0: every song drawn on its own)
    labels: int = 0  # labels publishing the bands (0: one for every four bands)
    drum_parts: tuple[str, ...] = ("groove",)  # drum-part sources (mtk.corpus.drumparts), one drawn per song
    engines: tuple[str, ...] = ()  # synthesis engines drawn per version (mtk.corpus.render); (): auto, as before
    test_engines: tuple[str, ...] | None = None  # engines only the test split uses (None: the last of several)


@dataclass
class CorpusPlan:
    songs: list[SongPlan]
    skipped: Counter[str] = field(default_factory=Counter)
    train_soundfonts: list[str] = field(default_factory=list)
    test_soundfonts: list[str] = field(default_factory=list)
    train_kits: list[str] = field(default_factory=list)
    test_kits: list[str] = field(default_factory=list)
    train_engines: list[str] = field(default_factory=list)
    test_engines: list[str] = field(default_factory=list)


def split_of(work_id: str) -> str:
    """The split of a work: a stable hash of its id (10 % test, 10 % valid, 80 % train)."""
    return hash_split(work_id, SPLITS)


def hash_split(key: str, splits: Sequence[tuple[str, int]]) -> str:
    """A stable split for ``key``: its sha1 modulo 100 against the splits' percentages."""
    bucket = int(hashlib.sha1(key.encode()).hexdigest(), 16) % 100
    edge = 0
    for name, pct in splits:
        edge += pct
        if bucket < edge:
            return name
    return splits[-1][0]


def check_tools() -> None:
    """The Debian programs song building needs; UsageError with the install command."""
    missing = [
        pkg
        for exe, pkg in (("fluidsynth", "fluidsynth"), ("mma", "mma"))
        if (fluidsynth_executable() if exe == "fluidsynth" else mma_executable()) is None
    ]
    if missing:
        raise UsageError(
            f"missing programs: {', '.join(missing)}",
            hint=f"apt-get install {' '.join(missing)} (or `make corpus-deps`)",
        )


def plan_corpus(opts: CorpusOptions, *, jobs: int = 1) -> CorpusPlan:
    """Choose works, versions, styles, soundfonts and kits for every song.

    Works are parsed in ``jobs`` processes; the plan does not depend on ``jobs``.
    """
    for style in opts.styles:
        if style not in STYLES:
            raise UsageError(f"unknown style {style!r}", hint=f"choose from {', '.join(STYLES)}")
    fonts = _soundfonts(opts.soundfonts)
    test_fonts = (
        list(opts.test_soundfonts) if opts.test_soundfonts is not None else (fonts[-1:] if len(fonts) > 1 else [])
    )
    if opts.test_soundfonts:
        _soundfonts(test_fonts)
    train_fonts = [f for f in fonts if f not in test_fonts] or fonts
    kits = {k.name: k for k in installed_kits()}
    exported = set()
    for folder in opts.kit_dirs:
        for kit in load_export_kits(Path(folder)):
            if kit.playable and kit.name not in kits:
                kits[kit.name] = kit
                exported.add(kit.name)
    if not kits and opts.soundfont_drums < 1:
        raise UsageError(
            "no recorded drum kits installed",
            hint="apt-get install hydrogen-data hydrogen-drumkits sonic-pi-samples (or `make corpus-deps`), "
            "or use --soundfont-drums 1",
        )
    if opts.kits is not None:
        unknown = [k for k in opts.kits if k not in kits]
        if unknown:
            raise UsageError(f"unknown kit(s): {', '.join(unknown)}", hint=f"installed: {', '.join(kits) or 'none'}")
        kits = {k: kits[k] for k in opts.kits}
    if opts.test_kits is not None:
        test_kits = [k for k in opts.test_kits if k in kits]
    else:
        held_out_fonts = tuple(f"{Path(f).stem} " for f in test_fonts)  # exported kits of a held-out soundfont
        test_kits = [k for k in DEFAULT_TEST_KITS if k in kits] or sorted(set(kits) - exported)[-2:]
        test_kits += [k for k in sorted(exported) if k.startswith(held_out_fonts) and variant_base(k) == k]
    # a held-out kit's variants (mtk corpus oneshots --variants) are in no split: they would leak it
    train_kits = [k for k in sorted(kits) if k not in test_kits and variant_base(k) not in test_kits]

    train_engines, test_engines = _engines(opts)
    refs = list(list_works(tuple(opts.sources)))
    order = np.random.default_rng(opts.seed).permutation(len(refs))
    plan = CorpusPlan(
        songs=[], train_soundfonts=train_fonts, test_soundfonts=test_fonts, train_kits=train_kits, test_kits=test_kits,
        train_engines=train_engines, test_engines=test_engines,
    )  # fmt: skip
    seen: set[str] = set()
    # A non-chorale's work id is its reference, so works of unwanted splits need no parsing.
    wanted = [refs[int(i)] for i in order]
    wanted = [r for r in wanted if r.source == "bach" or split_of(r.ref_id) in opts.splits]
    for work in _parse_in_order(wanted, jobs):
        if len(seen) >= opts.count:
            break
        if isinstance(work, WorkSkipped):
            plan.skipped[str(work)] += 1
            continue
        split = split_of(work.work_id)
        if split not in opts.splits or work.work_id in seen:
            continue
        seen.add(work.work_id)
        plan.songs += _versions(work, split, len(seen) - 1, opts, plan, kits)
    if opts.harmonizations:
        plan.songs = _harmonized(plan.songs, [r for r in refs if r.source == "bach"], jobs)
    if opts.artists:
        plan.songs = assign_bands(plan.songs, opts, plan, kits)
    return plan


def _harmonized(songs: list[SongPlan], bach: list[WorkRef], jobs: int) -> list[SongPlan]:
    """Version ``v`` of a Bach tune that Bach harmonized ``n`` times takes harmonization
    ``v % n`` (by BWV reference order). Which chorales share a tune is indexed once per
    music21 and mtk version (:func:`bach_tunes`); a tune with one harmonization is named in a
    warning, since its versions then share it."""
    from dataclasses import replace

    tunes = bach_tunes(bach, jobs)
    by_ref = {r.ref_id: r for r in bach}
    parsed: dict[str, Work] = {}
    out, alone = [], set()
    for song in songs:
        refs = sorted(tunes.get(song.work.work_id, []))
        if len(refs) < 2:
            if song.work.ref.source == "bach" and song.version > 0:
                alone.add(song.work.ref.ref_id)
            out.append(song)
            continue
        ref = refs[song.version % len(refs)]
        if ref not in parsed:
            parsed[ref] = parse_work(by_ref[ref])
        out.append(replace(song, work=parsed[ref]))
    if alone:
        logger.warning(
            "%d tune(s) have one harmonization by Bach, so their versions share it: %s",
            len(alone),
            ", ".join(sorted(alone)[:5]) + (", ..." if len(alone) > 5 else ""),
        )
    return out


def bach_tunes(bach: list[WorkRef], jobs: int) -> dict[str, list[str]]:
    """Tune id (:attr:`Work.work_id`) -> references of the chorales that harmonize it. Finding
    them parses every chorale (about 2 minutes on 2 cores), so the answer is kept in
    ``<cache>/corpus/`` per music21 and mtk version and read from there afterwards."""
    from mtk.weights.store import cache_dir

    key = hashlib.sha1("\n".join(sorted(r.ref_id for r in bach)).encode()).hexdigest()[:10]
    m21 = importlib.metadata.version("music21")
    path = cache_dir() / "corpus" / f"bach-tunes-music21-{m21}-mtk-{__version__}-{key}.json"
    try:
        return {k: list(v) for k, v in json.loads(path.read_text()).items()}
    except (OSError, ValueError, AttributeError):
        pass  # not yet indexed, or a damaged file: index again
    logger.warning("indexing which of %d Bach chorales share a tune (once; cached in %s)", len(bach), path.parent)
    tunes: dict[str, list[str]] = {}
    for work in _parse_in_order(bach, jobs):
        if not isinstance(work, WorkSkipped):
            tunes.setdefault(work.work_id, []).append(work.ref.ref_id)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, json.dumps(tunes, sort_keys=True).encode(), force=True)
    except OSError as exc:  # a read-only cache only costs time
        logger.info("could not cache the chorale index (%s)", exc)
    return tunes


def _parse_or_skip(ref: WorkRef) -> Work | WorkSkipped:
    try:
        return parse_work(ref)
    except WorkSkipped as exc:
        return exc


def _parse_in_order(refs: list[WorkRef], jobs: int, chunk: int = 64) -> Iterator[Work | WorkSkipped]:
    """Parse works lazily, in order, ``chunk`` at a time across ``jobs`` processes."""
    if jobs <= 1:
        yield from map(_parse_or_skip, refs)
        return
    with worker_pool(jobs) as pool:
        for start in range(0, len(refs), chunk):
            yield from pool.map(_parse_or_skip, refs[start : start + chunk], chunksize=4)


def _engines(opts: CorpusOptions) -> tuple[list[str], list[str]]:
    """The engines of the train/valid splits and those held out for the test split, each
    checked installed (a held-out engine renders test songs only; test songs draw from all)."""
    from mtk.corpus.render import SYNTHS, choose_synth

    if not opts.engines:
        return [], []
    for engine in (*opts.engines, *(opts.test_engines or ())):
        if engine not in SYNTHS[1:]:
            raise UsageError(f"unknown engine {engine!r}", hint=f"choose from {', '.join(SYNTHS[1:])}")
        choose_synth(engine)  # type: ignore[arg-type]
    held = list(opts.test_engines) if opts.test_engines is not None else list(opts.engines[-1:])
    held = held if len(opts.engines) > 1 or opts.test_engines is not None else []
    train = [e for e in opts.engines if e not in held]
    if not train:
        raise UsageError("every engine is held out for the test split", hint="list at least one more in --engines")
    return train, held


def _engine(opts: CorpusOptions, plan: CorpusPlan, split: str, index: int, version: int, font: str) -> str:
    """A version's engine, drawn by its own generator (corpora without --engines rebuild byte
    for byte); engines that read SF2 only fall back to FluidSynth for an .sf3 font."""
    if not plan.train_engines:
        return "auto"
    pool = plan.train_engines + (plan.test_engines if split == "test" else [])
    engine = pool[int(np.random.default_rng([opts.seed, index, version, 30]).integers(len(pool)))]
    return "fluidsynth" if engine != "fluidsynth" and font.lower().endswith(".sf3") else engine


def _versions(
    work: Work, split: str, index: int, opts: CorpusOptions, plan: CorpusPlan, kits: dict[str, Kit]
) -> list[SongPlan]:
    rng = np.random.default_rng([opts.seed, index, 7])
    allowed = [s for s in opts.styles if work.meter[1] != 8 or s in COMPOUND_STYLES] or list(opts.styles)
    styles = [allowed[int(j)] for j in rng.permutation(len(allowed))]
    fonts = plan.test_soundfonts if split == "test" and plan.test_soundfonts else plan.train_soundfonts
    kit_names = plan.test_kits if split == "test" else plan.train_kits
    shifts = [int(x) - 5 for x in rng.permutation(12)]  # a different key for every version (up to 12)
    out = []
    slug = re.sub(r"[^a-z0-9]+", "-", work.title.lower()).strip("-")[:40] or "work"
    for v in range(opts.versions):
        part = _drum_part(opts, index, v)
        use_soundfont_kit = not kit_names or rng.random() < opts.soundfont_drums
        kit = None if use_soundfont_kit else _draw_kit(kit_names, styles[v % len(styles)], opts, kits, rng)
        font = fonts[int(rng.integers(len(fonts)))]
        out.append(
            SongPlan(
                song_id=f"{index:05d}-{slug}-v{v}",
                work=work,
                version=v,
                split=split,
                style=styles[v % len(styles)],
                soundfont=font,
                synth=_engine(opts, plan, split, index, v, font),
                kit=kit,
                seed=opts.seed,
                sample_rate=opts.sample_rate,
                max_seconds=opts.max_seconds,
                transpose=shifts[v % 12],
                drum_part=part,
            )
        )
    return out


def _drum_part(opts: CorpusOptions, index: int, version: int) -> str:
    """The drum-part source of a song, drawn evenly from ``opts.drum_parts`` by its own
    generator (so corpora of one source rebuild byte for byte)."""
    if len(opts.drum_parts) == 1:
        return opts.drum_parts[0]
    rng = np.random.default_rng([opts.seed, index, version, 28])
    return opts.drum_parts[int(rng.integers(len(opts.drum_parts)))]


RELEASE_SONGS = 4  # songs on a band's release


def assign_bands(songs: list[SongPlan], opts: CorpusOptions, plan: CorpusPlan, kits: dict[str, Kit]) -> list[SongPlan]:
    """Give every song a band (artist) of its split and a release, as ``mtk embed`` needs
    metadata associations to mean something.

    Each split gets bands in proportion to its works (largest remainders, at least one); a band keeps one style,
    instrumentation, soundfont, kit, tempo and mix in all its songs, and belongs to one of
    ``opts.labels`` labels. The versions of a work go to different bands where the split has
    enough (covers), a compound-meter work to a band whose style plays it where one can, else
    to the band with the fewest songs. A band's songs, in plan order, make releases of
    :data:`RELEASE_SONGS`.
    """
    from dataclasses import replace

    n_labels = opts.labels or max(1, opts.artists // 4)
    works_by_split = Counter(s.split for s in songs if s.version == 0)
    counts = _shares(opts.artists, works_by_split)
    bands: dict[str, list[Band]] = {}
    number = 0
    for split in sorted(works_by_split):
        count = counts[split]
        rng = np.random.default_rng([opts.seed, 11, zlib.crc32(split.encode())])
        bands[split] = []
        for _ in range(count):
            bands[split].append(_band(number, split, opts, plan, kits, n_labels, rng))
            number += 1
    load: Counter[str] = Counter()
    players: dict[str, set[str]] = {}  # work id -> the bands that play it already
    out = []
    for song in songs:
        taken = players.setdefault(song.work.work_id, set())
        pool = [b for b in bands[song.split] if b.artist_id not in taken] or bands[song.split]
        if song.work.meter[1] == 8:
            pool = [b for b in pool if b.style in COMPOUND_STYLES] or pool
        band = min(pool, key=lambda b: (load[b.artist_id], b.artist_id))
        taken.add(band.artist_id)
        release = f"{band.artist_id}-r{load[band.artist_id] // RELEASE_SONGS + 1}"
        load[band.artist_id] += 1
        out.append(replace(song, band=band, release=release, style=band.style, soundfont=band.soundfont, kit=band.kit))
    return out


def _shares(total: int, weights: Counter[str]) -> dict[str, int]:
    """``total`` split in proportion to ``weights`` by largest remainders, at least 1 each."""
    whole = sum(weights.values()) or 1
    exact = {k: total * w / whole for k, w in weights.items()}
    out = {k: int(v) for k, v in exact.items()}
    for k in sorted(exact, key=lambda k: (out[k] - exact[k], k))[: total - sum(out.values())]:
        out[k] += 1
    return {k: max(1, v) for k, v in out.items()}


def _band(
    number: int,
    split: str,
    opts: CorpusOptions,
    plan: CorpusPlan,
    kits: dict[str, Kit],
    n_labels: int,
    rng: np.random.Generator,
) -> Band:
    style = STYLES[opts.styles[int(rng.integers(len(opts.styles)))]]
    fonts = plan.test_soundfonts if split == "test" and plan.test_soundfonts else plan.train_soundfonts
    kit_names = plan.test_kits if split == "test" else plan.train_kits
    use_soundfont_kit = not kit_names or rng.random() < opts.soundfont_drums
    programs = tuple((part, int(rng.choice(getattr(style, part)))) for part in ("melody", "chords", "bass"))
    return Band(
        artist_id=f"artist-{number:03d}",
        name=f"{style.name.title()} Band {number}",
        label=f"label-{int(rng.integers(n_labels)):02d}",
        style=style.name,
        programs=programs,
        soundfont=fonts[int(rng.integers(len(fonts)))],
        kit=None if use_soundfont_kit else _draw_kit(kit_names, style.name, opts, kits, rng),
        tempo=float(rng.integers(style.tempo[0], style.tempo[1] + 1)),
        levels=tuple((part, round(float(rng.uniform(-2.0, 2.0)), 2)) for part in ("melody", "chords", "bass", "drums")),
    )


def _draw_kit(names: list[str], style: str, opts: CorpusOptions, kits: dict[str, Kit], rng: np.random.Generator) -> Kit:
    """A kit for a song or band of ``style``: with probability ``opts.kit_affinity`` one of the
    style's kit families (when the split has any), else any. No extra draw at affinity 0, so
    corpora built before --kit-affinity existed rebuild byte for byte."""
    if opts.kit_affinity > 0 and rng.random() < opts.kit_affinity:
        liked = [n for n in names if kit_family(n) in STYLE_KIT_FAMILIES[style]]
        names = liked or names
    return kits[names[int(rng.integers(len(names)))]]


def _soundfonts(named: Sequence[str]) -> list[str]:
    if named:
        for f in named:
            lacking = missing_presets(check_soundfont(f), GM_PROGRAMS)
            if lacking:  # FluidSynth would play the missing parts on a substitute and meta.json would lie
                raise UsageError(f"{f}: not a General MIDI soundfont: it {lacking}", hint="name a GM soundfont")
        return [str(f) for f in named]
    unique: dict[str, Path] = {}
    for path in installed_soundfonts():
        unique.setdefault(path.resolve().name.lower(), path)
    # Any groove may call any GM program, so a song's font must hold all 128 and a drum kit.
    fonts = [str(p) for p in general_midi_soundfonts(list(unique.values()))]
    if not fonts:
        raise UsageError(
            "no General MIDI soundfont installed" + (f" ({len(unique)} skipped: see the warnings)" if unique else ""),
            hint="apt-get install fluid-soundfont-gm (or `make corpus-deps`)",
        )
    return fonts


@lru_cache(maxsize=1)
def tool_versions() -> dict[str, str]:
    """Versions of everything that shapes the output, recorded in every meta.json."""
    out = {"mtk": __version__, "python": sys.version.split()[0]}
    for pkg in ("music21", "numpy", "soundfile", "soxr", "miditoolkit", "midirenderer"):
        try:
            out[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            pass
    for exe, args in (("fluidsynth", ["--version"]), ("mma", ["-v"])):
        path = fluidsynth_executable() if exe == "fluidsynth" else mma_executable()
        if path:
            text = subprocess.run([path, *args], capture_output=True, text=True, check=False).stdout
            match = re.search(r"\d+(\.\d+)+", text)
            out[exe] = match.group(0) if match else "unknown"
    return out


def build_songs(
    plan: CorpusPlan,
    out: Path,
    *,
    jobs: int = 1,
    skip_existing: bool = False,
    force: bool = False,
    progress: Callable[[list[SongPlan]], Iterator[SongPlan]] | None = None,
) -> Iterator[dict[str, Any]]:
    """Build every planned song (in ``jobs`` processes); yield one index record per song.

    Songs already in ``out`` are skipped with ``skip_existing``, rebuilt with ``force``, and
    otherwise an :class:`OutputExistsError` before anything is written.
    """
    existing = [s.song_id for s in plan.songs if (out / s.song_id).exists()]
    if existing and not (skip_existing or force):
        raise OutputExistsError(
            f"{out}: already holds {len(existing)} of these songs ({existing[0]} ...)",
            hint="use --skip-existing to resume or --force to rebuild",
        )
    out.mkdir(parents=True, exist_ok=True)
    todo = []
    for song in plan.songs:
        meta_path = out / song.song_id / "meta.json"
        if skip_existing and meta_path.is_file():
            yield {**index_record(json.loads(meta_path.read_text()), out / song.song_id), "skipped": True}
        else:
            todo.append(song)
    work = partial(_build_or_report, out_dir=out, versions=tool_versions())
    ticker = progress(todo) if progress else iter(todo)
    if jobs <= 1:
        for song in ticker:
            yield work(song)
        return
    with worker_pool(jobs) as pool:
        for record in pool.map(work, todo):
            next(ticker, None)
            yield record


def _build_or_report(song: SongPlan, *, out_dir: Path, versions: dict[str, str]) -> dict[str, Any]:
    """Build one song; an expected failure becomes an error record so the batch goes on."""
    try:
        return build_song(song, out_dir, versions=versions)
    except MtkError as exc:
        return {"id": song.song_id, "work_id": song.work.work_id, "error": str(exc)}


def write_summary(
    out: Path, plan: CorpusPlan, opts: CorpusOptions, argv: list[str], records: list[dict[str, Any]]
) -> dict[str, Any]:
    """``OUT/corpus.json``: the command, options, versions, held-out sounds and counts."""
    splits = Counter(s.split for s in plan.songs)
    summary = {
        "command": argv,
        "seed": opts.seed,
        "options": {k: (list(v) if isinstance(v, tuple) else v) for k, v in vars(opts).items()},
        "versions": tool_versions(),
        "songs": len(plan.songs),
        "works": len({s.work.work_id for s in plan.songs}),
        "splits": dict(sorted(splits.items())),
        "skipped_works": dict(sorted(plan.skipped.items())),
        "soundfonts": {"train": plan.train_soundfonts, "test": plan.test_soundfonts},
        "kits": {"train": plan.train_kits, "test": plan.test_kits},
        **({"engines": {"train": plan.train_engines, "test": plan.test_engines}} if plan.train_engines else {}),
        "built": sum(1 for r in records if not r.get("skipped") and "error" not in r),
        "failed": sum(1 for r in records if "error" in r),
    }
    atomic_write(out / "corpus.json", (json.dumps(summary, indent=1, sort_keys=True) + "\n").encode(), force=True)
    rows = sorted(
        (r for r in records if "error" not in r), key=lambda r: r["id"]
    )  # song folders are named by id: no paths, so corpora can move
    index = "".join(dumps({k: r[k] for k in sorted(r) if k not in ("path", "skipped")}) + "\n" for r in rows)
    atomic_write(out / "index.jsonl", index.encode(), force=True)
    return summary
