"""Infill training data: melodies of music21's public-domain tune books, split by work.

Each tune of O'Neill's 1850, Ryan's Mammoth, Aird's Airs, miscFolk and the Bach chorales'
soprano lines (not Essen: non-commercial) becomes a :class:`~mtk.infill.tokens.Melody` in
its own meter, repeats expanded, with sections from :func:`~mtk.infill.structure.analyze`:
the score's double bars, repeat signs and rehearsal marks
(:func:`mtk.corpus.works.section_marks`) bound sections, and phrases within them are
labelled by self-similarity (an expanded repeat is found as an exact repeat). Splits are the
corpus's: a hash of the work id (:func:`mtk.corpus.build.split_of`), so no tune is in two
splits of any mtk tool.

An :class:`Example` is the paper's setting: a target section, up to :data:`CONTEXT_BARS`
bars of past and of future context, and, when the target repeats an earlier label, the
first section with that label as its structural context.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from mtk.corpus.works import DEFAULT_SOURCES, Work, WorkRef, WorkSkipped, list_works, parse_work
from mtk.infill.structure import analyze
from mtk.infill.tokens import (
    TICKS_PER_QUARTER,
    Melody,
    Note,
    Section,
    meter_map,
    quantize,
)
from mtk.parallel import parallel_map

CONTEXT_BARS = 6
MAX_TARGET_BARS = 5  # a 4-bar phrase, or 5 with its pickup bar
CACHE_VERSION = 4  # 2: sections bounded by the score's marks; 3: every meter, meter changes; 4: any difference primes


def melody_of(work: Work) -> Melody:
    """A parsed tune (``parse_work(ref, any_meter=True)``) as a melody in its own meters,
    sections by structure analysis within the score's marks (each at the nearest bar line)."""
    events = [(0, work.source_meter), *((round(t * TICKS_PER_QUARTER), m) for t, m in work.meter_changes)]
    try:
        first, changes = meter_map(events)
    except ValueError as exc:
        raise WorkSkipped(str(exc)) from None
    notes = quantize(work.notes)
    melody = Melody(first, 120.0, notes, 1, changes=changes)
    melody.n_bars = melody.bar_of(notes[-1].start) + 1
    melody.changes = tuple((b, m) for b, m in changes if b < melody.n_bars)
    marks = {melody.nearest_bar(round(t * TICKS_PER_QUARTER)) for t, _ in work.marks}
    melody.marks = tuple(sorted(b for b in marks if 0 < b < melody.n_bars))
    melody.sections = analyze(melody)
    return melody


def to_json(melody: Melody) -> dict[str, object]:
    return {
        "meter": list(melody.meter),
        "tempo": melody.tempo,
        "n_bars": melody.n_bars,
        "notes": [[n.pitch, n.start, n.duration] for n in melody.notes],
        "sections": [[s.first_bar, s.end_bar, s.label] for s in melody.sections],
        "marks": list(melody.marks),
        "changes": [[b, list(m)] for b, m in melody.changes],
    }


def from_json(data: dict) -> Melody:  # type: ignore[type-arg]
    return Melody(
        (int(data["meter"][0]), int(data["meter"][1])),
        float(data["tempo"]),
        [Note(*n) for n in data["notes"]],
        int(data["n_bars"]),
        [Section(int(a), int(b), str(c)) for a, b, c in data["sections"]],
        tuple(int(b) for b in data.get("marks", ())),
        tuple((int(b), (int(m[0]), int(m[1]))) for b, m in data.get("changes", ())),
    )


def _record(ref: WorkRef) -> dict[str, object] | None:
    from mtk.corpus.build import split_of

    try:
        work = parse_work(ref, any_meter=True)
        melody = melody_of(work)
    except WorkSkipped:
        return None
    return {"work": work.work_id, "split": split_of(work.work_id), "title": work.title, **to_json(melody)}


def load_melodies(
    cache: Path,
    *,
    sources: tuple[str, ...] = DEFAULT_SOURCES,
    jobs: int = 1,
    progress: Callable[[list[WorkRef]], Iterator[WorkRef]] | None = None,
) -> list[dict[str, object]]:
    """Every usable tune of ``sources`` as records (work id, split, title, melody), parsed
    once and kept as JSON Lines in ``cache``; Bach tunes harmonised more than once appear
    once (the first)."""
    key = hashlib.sha1(json.dumps([CACHE_VERSION, sorted(sources)]).encode()).hexdigest()[:12]
    path = cache / f"melodies-{key}.jsonl"
    if path.is_file():
        return [json.loads(line) for line in path.read_text().splitlines() if line]
    records, seen = [], set()
    for rec in parallel_map(_record, list(list_works(sources)), jobs, progress):
        if rec is not None and rec["work"] not in seen:
            seen.add(rec["work"])
            records.append(rec)
    from mtk.io.files import atomic_write

    atomic_write(path, "".join(json.dumps(r) + "\n" for r in records).encode(), force=True)
    return records


@dataclass
class Example:
    """One infilling problem, in bars of ``melody``: past ``[past, first)``, target
    ``[first, end)``, future ``[end, future)``; ``struct`` the structural context's bars."""

    melody: Melody
    past: int
    first: int
    end: int
    future: int
    struct: Section | None
    source: str = ""  # the tune book, where known

    @property
    def label(self) -> str:
        return self.melody.label_of(self.first)


def _pickup(melody: Melody, bar: int) -> bool:
    """Whether ``bar`` only leads into the next one: no note, or its first onset in the bar's
    second half (an upbeat)."""
    origin, ticks = melody.bar_start(bar), melody.bar_ticks_at(bar)
    onsets = [n.start - origin for n in melody.bar_notes(bar, bar + 1)]
    return not onsets or min(onsets) >= ticks / 2


def reference_bars(example: Example) -> tuple[int, int]:
    """The structural reference's bars ``[first, end)`` aligned with the target's bars, so that
    bar ``i`` of the target answers to bar ``first + i`` of the reference. When the reference
    has more bars than the target, its leading pickup bars (:func:`_pickup`; a section often
    starts with its upbeat, and its repeat's upbeat ends the bar before the gap) are passed
    over, then the run of as many bars whose lengths match the target's best (the earliest of
    equals) is taken (an incomplete bar, given a meter of its own length)."""
    assert example.struct is not None
    m, ref = example.melody, example.struct
    n = example.end - example.first
    first = ref.first_bar
    while ref.end_bar - first > n and _pickup(m, first):
        first += 1
    gap = [m.bar_ticks_at(b) for b in range(example.first, example.end)]
    lengths = [m.bar_ticks_at(b) for b in range(first, ref.end_bar)]
    offsets = range(max(1, len(lengths) - n + 1))
    best = max(offsets, key=lambda k: (sum(a == b for a, b in zip(gap, lengths[k : k + n], strict=False)), -k))
    return first + best, min(ref.end_bar, first + best + n)


def meter_name(melody: Melody) -> str:
    """``"3/8"``, or ``"2/4+"`` for a tune that starts in 2/4 and changes meter."""
    return f"{melody.meter[0]}/{melody.meter[1]}" + ("+" if melody.changes else "")


def meter_census(records: list[dict[str, object]]) -> dict[str, dict[str, int]]:
    """Tunes and bars per meter (a changing tune's bars counted in each of its meters; its
    tune under :func:`meter_name`), most bars first."""
    census: dict[str, dict[str, int]] = {}
    for r in records:
        melody = from_json(r)
        tunes = census.setdefault(meter_name(melody), {"tunes": 0, "bars": 0})
        tunes["tunes"] += 1
        for n, d in melody.meters():
            census.setdefault(f"{n}/{d}", {"tunes": 0, "bars": 0})["bars"] += 1
    return dict(sorted(census.items(), key=lambda kv: (-kv[1]["bars"], -kv[1]["tunes"], kv[0])))


def examples(melody: Melody, *, context: int = CONTEXT_BARS, source: str = "") -> list[Example]:
    """An example per section after the first (of at most :data:`MAX_TARGET_BARS` bars); its
    structural context is the first section with the same letter, when there is one."""
    out = []
    for i, section in enumerate(melody.sections):
        if i == 0 or section.n_bars > MAX_TARGET_BARS:
            continue
        struct = next((s for s in melody.sections[:i] if s.label[0] == section.label[0]), None)
        out.append(
            Example(
                melody,
                max(0, section.first_bar - context),
                section.first_bar,
                section.end_bar,
                min(melody.n_bars, section.end_bar + context),
                struct,
                source,
            )
        )
    return out
