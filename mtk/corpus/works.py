"""Real melodies from music21's bundled corpus: listing, parsing, phrases, work ids.

A *work* is one tune (an ABC tune, a Bach chorale). It is listed cheaply (file names and
``X:`` numbers, no parsing) so that a seeded selection is fast, then parsed on demand into
a :class:`Work`: the melody as (pitch, start, duration) in quarter notes with bar lines at
multiples of the bar length (pickups are padded to a full bar), meter, key, phrases with
A/B labels, the section marks the score writes (double bars, repeat signs, rehearsal marks:
:func:`section_marks`), and, for chorales, Bach's lower voices as harmonic evidence.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

# name -> (folder in music21's corpus, file glob, licence)
SOURCES: dict[str, tuple[str, str, str]] = {
    "bach": ("bach", "bwv*.mxl", "public domain (J. S. Bach chorales, music21 corpus)"),
    "oneills": ("oneills1850", "*.abc", "public domain (O'Neill's Music of Ireland, 1850)"),
    "ryans": ("ryansMammoth", "*.abc", "public domain (Ryan's Mammoth Collection, 1883)"),
    "aird": ("airdsAirs", "*.abc", "public domain (Aird's Selection of Airs)"),
    "miscfolk": ("miscFolk", "*.abc", "public domain (traditional tunes, music21 corpus)"),
    "essen": ("essenFolksong", "*.abc", "Essen Folksong Collection: non-commercial use only"),
}
logger = logging.getLogger(__name__)

DEFAULT_SOURCES = ("bach", "oneills", "ryans", "aird", "miscfolk")  # Essen is opt-in (licence)
METERS = {(2, 4), (2, 2), (3, 4), (4, 4), (6, 8), (9, 8), (12, 8)}


class WorkSkipped(Exception):
    """A work that cannot be used (unparseable, no meter, too short ...); the reason is the message."""


@dataclass(frozen=True)
class WorkRef:
    """Where a work lives: a corpus file and, for multi-tune ABC books, its ``X:`` number."""

    source: str
    path: str  # relative to music21's corpus folder
    number: int | None = None

    @property
    def ref_id(self) -> str:
        stem = Path(self.path).stem
        return f"{self.source}:{stem}" + (f"#{self.number}" if self.number is not None else "")


@dataclass
class Work:
    """A parsed melody. Times are in quarter notes from the first full bar line of bar 0."""

    ref: WorkRef
    work_id: str
    title: str
    licence: str
    meter: tuple[int, int]
    source_meter: tuple[int, int]
    bar_ql: float
    tonic_pc: int
    mode: str
    notes: list[tuple[int, float, float]]
    n_bars: int
    phrases: list[tuple[int, int, str]] = field(default_factory=list)  # (first bar, end bar, label)
    harmony: list[tuple[int, float, float]] | None = None  # all voices, for chorales
    marks: list[tuple[float, str]] = field(default_factory=list)  # (time, kind): see section_marks
    meter_changes: list[tuple[float, tuple[int, int]]] = field(default_factory=list)  # (time, meter) after the first

    @property
    def beats_per_bar(self) -> int:
        """Counted beats per bar: quarters in simple meters, dotted quarters in compound."""
        num, den = self.meter
        return num // 3 if den == 8 and num % 3 == 0 else num

    @property
    def beat_ql(self) -> float:
        return self.bar_ql / self.beats_per_bar


def corpus_root() -> Path:
    """music21's corpus folder (music21 is imported only to find it)."""
    import music21

    return Path(music21.__file__).parent / "corpus"


@lru_cache(maxsize=8)
def list_works(sources: tuple[str, ...] = DEFAULT_SOURCES) -> tuple[WorkRef, ...]:
    """Every work of the given sources, sorted, without parsing any of them."""
    root = corpus_root()
    refs: list[WorkRef] = []
    for source in sources:
        if source not in SOURCES:
            raise ValueError(f"unknown source {source!r}; known: {', '.join(SOURCES)}")
        folder, pattern, _ = SOURCES[source]
        for path in sorted((root / folder).glob(pattern)):
            rel = str(path.relative_to(root))
            if path.suffix == ".abc":
                numbers = [
                    int(line[2:].strip())
                    for line in path.read_text(errors="replace").splitlines()
                    if line.startswith("X:") and line[2:].strip().isdigit()
                ]
                refs += [WorkRef(source, rel, n) for n in sorted(set(numbers))] or [WorkRef(source, rel)]
            else:
                refs.append(WorkRef(source, rel))
    return tuple(refs)


def parse_work(ref: WorkRef, *, any_meter: bool = False) -> Work:
    """Parse one work; raises :class:`WorkSkipped` with the reason when it is unusable.

    The arrangements of ``mtk corpus`` need one meter of :data:`METERS`; ``any_meter``
    accepts every meter and meter changes (``Work.meter_changes``, times as the notes'),
    for melody models that read them.

    music21 takes about a third of a second a tune (expanding repeats deep-copies every
    note), so each answer, a work or the reason it was skipped, is kept in
    ``<cache>/corpus/works-<key>/`` and read from there afterwards (under a millisecond).
    The key is music21's version and this module's source, so a new music21 or a change to
    the parsing parses again."""
    path = _cached_path(ref, any_meter)
    cached = _read_cached(path)
    if cached is None:
        try:
            cached = _parse_work(ref, any_meter=any_meter)
        except WorkSkipped as exc:
            cached = str(exc)
        _write_cached(path, cached)
    if isinstance(cached, str):
        raise WorkSkipped(cached)
    return cached


@lru_cache(maxsize=1)
def _cache_key() -> str:
    import importlib.metadata

    code = hashlib.sha1(Path(__file__).read_bytes()).hexdigest()[:10]
    return f"works-music21-{importlib.metadata.version('music21')}-{code}"


def _cache_folder() -> Path:
    from mtk.weights.store import cache_dir

    return cache_dir() / "corpus" / _cache_key()


def _cached_path(ref: WorkRef, any_meter: bool) -> Path:
    name = hashlib.sha1(f"{ref.source}\n{ref.path}\n{ref.number}\n{any_meter}".encode()).hexdigest()[:16]
    return _cache_folder() / f"{ref.source}-{name}.json"


def _read_cached(path: Path) -> Work | str | None:
    """The kept answer: a :class:`Work`, a skip reason, or None (not kept, or damaged)."""
    try:
        data = json.loads(path.read_text())
        if "skipped" in data:
            return str(data["skipped"])
        pairs = lambda rows: [tuple(r) for r in rows]  # noqa: E731
        return Work(
            ref=WorkRef(**data["ref"]),
            work_id=data["work_id"],
            title=data["title"],
            licence=data["licence"],
            meter=tuple(data["meter"]),
            source_meter=tuple(data["source_meter"]),
            bar_ql=float(data["bar_ql"]),
            tonic_pc=int(data["tonic_pc"]),
            mode=data["mode"],
            notes=pairs(data["notes"]),
            n_bars=int(data["n_bars"]),
            phrases=pairs(data["phrases"]),
            harmony=None if data["harmony"] is None else pairs(data["harmony"]),
            marks=pairs(data["marks"]),
            meter_changes=[(float(t), tuple(m)) for t, m in data["meter_changes"]],
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write_cached(path: Path, answer: Work | str) -> None:
    from dataclasses import asdict

    from mtk.io.files import atomic_write

    data = {"skipped": answer} if isinstance(answer, str) else asdict(answer)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, json.dumps(data).encode(), force=True)
    except OSError as exc:  # a read-only cache only costs time
        logger.debug("could not keep %s (%s)", path, exc)


def _parse_work(ref: WorkRef, *, any_meter: bool = False) -> Work:
    import warnings

    from music21 import converter, expressions, meter

    path = corpus_root() / ref.path
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            score = converter.parse(path, number=ref.number) if ref.number is not None else converter.parse(path)
    except Exception as exc:  # music21 raises many kinds on malformed tunes
        raise WorkSkipped(f"unparseable ({type(exc).__name__})") from None
    parts = list(getattr(score, "parts", [])) or [score]
    if ref.source == "bach" and len(parts) != 4:
        raise WorkSkipped("not a four-part chorale")
    melody = _expanded(parts[0])
    sigs = list(melody.recurse().getElementsByClass(meter.TimeSignature))
    if not sigs:
        raise WorkSkipped("no time signature")
    if len({s.ratioString for s in sigs}) > 1 and not any_meter:
        raise WorkSkipped("changing meter")
    source_meter = (sigs[0].numerator, sigs[0].denominator)
    if source_meter not in METERS and not any_meter:
        raise WorkSkipped(f"unsupported meter {sigs[0].ratioString}")
    bar_ql = float(sigs[0].barDuration.quarterLength)
    measures = list(melody.getElementsByClass("Measure"))
    first_len = float(measures[0].duration.quarterLength) if measures else bar_ql
    shift = bar_ql - first_len if 0 < first_len < bar_ql else 0.0

    changes = meter_changes(melody, shift)
    notes, fermata_ends = _notes(melody, shift, expressions.Fermata)
    if len(notes) < 8:
        raise WorkSkipped("fewer than 8 notes")
    out_meter = source_meter
    if source_meter in {(2, 4), (2, 2)}:  # two 2/4 bars make one 4/4 bar; 2/2 is counted in 4
        out_meter, bar_ql = (4, 4), 4.0
    end = max(s + d for _, s, d in notes)
    n_bars = max(1, math.ceil(end / bar_ql - 1e-6))
    if n_bars < 4:
        raise WorkSkipped("shorter than 4 bars")
    key = score.analyze("key")
    harmony = None
    if ref.source == "bach":
        harmony = [n for part in parts for n in _notes(_expanded(part), shift, None)[0]]
    phrases = _phrases(notes, n_bars, bar_ql, [t for t in fermata_ends])
    marks = [(t, kind) for t, kind in section_marks(melody, shift) if 0 < t < end]
    title = (score.metadata.title if score.metadata and score.metadata.title else Path(ref.path).stem) or ref.ref_id
    return Work(
        ref=ref,
        work_id=_work_id(ref, notes),
        title=str(title),
        licence=SOURCES[ref.source][2],
        meter=out_meter,
        source_meter=source_meter,
        bar_ql=bar_ql,
        tonic_pc=key.tonic.pitchClass,
        mode="minor" if key.mode == "minor" else "major",
        notes=notes,
        n_bars=n_bars,
        phrases=phrases,
        harmony=harmony,
        marks=marks,
        meter_changes=changes,
    )


def meter_changes(part: object, shift: float = 0.0) -> list[tuple[float, tuple[int, int]]]:
    """``(time in quarter notes + shift, (numerator, denominator))`` of the time signatures of
    ``part``'s bars after the first, read bar by bar: ``flatten()`` loses the signatures that
    an expanded repeat repeats. An incomplete bar inside a tune (a pickup into a repeat, say)
    has a signature of its own length in music21's ABC reader (1/16 for a sixteenth) and the
    next bar restores the meter, so every later bar line stays where the score has it."""
    out = []
    for m in list(part.getElementsByClass("Measure"))[1:]:  # type: ignore[attr-defined]
        if m.timeSignature is not None:
            out.append((float(m.offset) + shift, (m.timeSignature.numerator, m.timeSignature.denominator)))
    return out


# Bar line styles that close a section (music21's names); "regular", "dotted", "dashed",
# "short", "tick" and "none" do not.
SECTION_BARLINES = frozenset({"double", "final", "heavy", "heavy-light", "light-heavy", "heavy-heavy"})


def section_marks(part: object, shift: float = 0.0) -> list[tuple[float, str]]:
    """Where the score marks a section edge, as ``(time in quarter notes + shift, kind)``:
    double and final bar lines and repeat signs (``"||"``, ``":|"``, ``"|:"``) and rehearsal
    marks (their text), in time order, one per time. In an expanded part a repeat's bar lines
    stay as double bars (music21), so each pass through a repeat is marked."""
    from music21 import bar, expressions

    found: dict[float, str] = {}
    for m in part.getElementsByClass("Measure"):  # type: ignore[attr-defined]
        start = float(m.offset) + shift
        end = start + float(m.duration.quarterLength)
        for rehearsal in m.getElementsByClass(expressions.RehearsalMark):
            found[start] = str(rehearsal.content or "section")
        for line, time, repeat in ((m.leftBarline, start, "|:"), (m.rightBarline, end, ":|")):
            if isinstance(line, bar.Repeat):
                found.setdefault(time, repeat)
            elif line is not None and line.type in SECTION_BARLINES:
                found.setdefault(time, "||")
    return sorted(found.items())


MAX_EXPANSION = 4  # repeats, endings and da capo at most about double a tune


def expand_repeats(stream: object) -> tuple[object, str]:
    """``stream`` (a part or a score) with its repeats, first and second endings and da capo
    unrolled as played, and ``"expanded"``; or ``stream`` as written and why, when music21
    refuses the repeat structure or unrolls it beyond :data:`MAX_EXPANSION` times its length
    (O'Neill's no. 1046: 89 bars become 9,712: not a tune anyone plays)."""
    try:
        expanded = stream.expandRepeats()  # type: ignore[attr-defined]
    except Exception as exc:  # music21 refuses some repeat structures
        return stream, f"as written (music21 cannot expand its repeats: {type(exc).__name__})"

    def bars(s: object) -> int:
        parts = list(getattr(s, "parts", [])) or [s]
        return len(parts[0].getElementsByClass("Measure"))  # type: ignore[attr-defined]

    if bars(expanded) > MAX_EXPANSION * max(bars(stream), 8):
        return stream, f"as written (its repeats unroll beyond {MAX_EXPANSION}x its written length)"
    return expanded, "expanded"


def _expanded(part: object) -> object:
    expanded, how = expand_repeats(part)
    if "beyond" in how:
        raise WorkSkipped("repeat structure expands beyond 4x its written length")
    return expanded


def _notes(part: object, shift: float, fermata_cls: type | None) -> tuple[list[tuple[int, float, float]], list[float]]:
    notes, fermata_ends = [], []
    flat = part.stripTies().flatten()  # type: ignore[attr-defined]
    for n in flat.notes:
        pitch = max(p.midi for p in n.pitches)
        start, dur = float(n.offset) + shift, float(n.quarterLength)
        if dur <= 0:
            continue  # grace notes
        notes.append((int(pitch), start, dur))
        if fermata_cls is not None and any(isinstance(e, fermata_cls) for e in n.expressions):
            fermata_ends.append(start + dur)
    notes.sort(key=lambda n: (n[1], -n[0]))
    mono = []  # keep the top line where notes overlap in time
    for n in notes:
        if mono and abs(mono[-1][1] - n[1]) < 1e-6:
            continue
        mono.append(n)
    return mono, fermata_ends


def _phrases(
    notes: list[tuple[int, float, float]], n_bars: int, bar_ql: float, fermata_ends: list[float]
) -> list[tuple[int, int, str]]:
    """Phrases from fermatas (chorales) or 4-bar groups, labelled A, B ... by content."""
    if fermata_ends:
        bounds = sorted({min(n_bars, max(1, math.ceil(t / bar_ql - 1e-6))) for t in fermata_ends} | {n_bars})
    else:
        size = 4 if n_bars >= 8 else 2
        bounds = list(range(size, n_bars, size)) + [n_bars]
    phrases, start, labels = [], 0, {}
    for end in bounds:
        if end <= start:
            continue
        content = tuple(
            (p - notes[0][0], round((s - start * bar_ql) * 4), round(d * 4))
            for p, s, d in notes
            if start * bar_ql <= s < end * bar_ql
        )
        intervals = tuple(b[0] - a[0] for a, b in zip(content, content[1:], strict=False)) + tuple(
            c[1:] for c in content
        )
        label = labels.setdefault(intervals, chr(ord("A") + min(len(labels), 25)))
        phrases.append((start, end, label))
        start = end
    return phrases


def _work_id(ref: WorkRef, notes: list[tuple[int, float, float]]) -> str:
    """Chorales are identified by their tune (transposition-free interval sequence)."""
    if ref.source != "bach":
        return ref.ref_id
    intervals = ",".join(str(b[0] - a[0]) for a, b in zip(notes, notes[1:], strict=False))
    return "bach-tune:" + hashlib.sha1(intervals.encode()).hexdigest()[:10]
