"""Drum parts like people play them, for ``mtk corpus songs --drum-parts``.

A corpus song's drum part comes from one of these sources (``meta.json``'s ``drum_part``
says which, and what it played):

- ``groove``: the MMA library groove of the song's style, the same bar after bar (humanized):
  what every corpus had before the option existed.
- ``fills``: that groove arranged as MMA's library arranges it: its ``Intro`` opening the song,
  its ``Fill`` ending phrases of 4 or 8 bars, its ``Plus``/``Sus`` variants for whole phrases,
  its ``End`` closing the song, where the library has them (:func:`groove_plan`).
- ``pflib``: Peter Falk's grooves in MMA's ``pflib`` library (8 and 16 beat, rock, metal, slow
  rock, "high five"), written as arrangements: a section A and a section B taking turns by
  phrase (4 or 8 bars), each phrase ending on its section's fill-in bar, a two-bar ending
  (:func:`pflib_plan`). 4/4 (and 2/4, counted in 4) songs only; others take ``generated``.
- ``hydrogen``: the drum parts of Hydrogen's demo songs (``hydrogen-data``: patterns and each
  song's pattern sequence, written by people: intros, fills, crashes, open hi-hats, ghost
  notes, tom runs), played bar by bar from a random point of a song's sequence. Two demo songs
  are held out for the test split (:data:`TEST_H2SONGS`). The patterns are 4/4, so songs in
  other meters take ``generated`` instead (the label says so).
- ``generated``: mtk's generator of fills and variations over the groove
  (:func:`generate`): phrases in half time, double time, on the ride or shuffled; fills of tom
  runs, snare rolls, triplets or stabs ending phrases, a crash with a kick on the one after;
  ghost notes, open hi-hats on off-beats, flams. Tempo is drawn wider than the style's range,
  from slow ballads to fast punk (:func:`wide_tempo`).

Notes are in the arrangement's ticks (:data:`mtk.corpus.arrange.TPB` a quarter) and General
MIDI drum notes (:data:`mtk.corpus.styles.CLASS_NOTES`); every generated note is humanized
like the rest of the song. Pure functions of the arrangement and a random generator.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from miditoolkit import Instrument, Note

from mtk.corpus.styles import CLASS_NOTES, drum_class

SOURCES = ("groove", "fills", "pflib", "hydrogen", "generated")
MMA_LIB = Path("/usr/share/mma/lib/stdlib")
H2_SONGS = Path("/usr/share/hydrogen/data/demo_songs")
TEST_H2SONGS = ("GM_kit_demo3", "GM_kit_Jazzy")  # only the test split plays these
H2_TICKS_PER_QUARTER = 48  # Hydrogen: 192 ticks to a 4/4 bar
TEMPO_RANGE = (55.0, 210.0)  # quarter notes a minute, for the wide tempo draw

KICK, SNARE, OPEN_HAT, RIDE, CRASH = (CLASS_NOTES[c] for c in ("kick", "snare", "hihat_open", "ride", "crash"))
TOMS = (CLASS_NOTES["tom_high"], CLASS_NOTES["tom_mid"], CLASS_NOTES["tom_low"])
HATS = (42, 44, 46)
SNARES = (38, 40)
KICKS = (35, 36)


def parse_sources(text: str) -> tuple[str, ...]:
    """``groove,generated`` -> the source names (each one of :data:`SOURCES`), in order, once."""
    names = tuple(dict.fromkeys(s.strip() for s in text.split(",") if s.strip()))
    unknown = [s for s in names if s not in SOURCES]
    if unknown or not names:
        raise ValueError(
            f"unknown drum-part source(s): {', '.join(unknown) or '(none)'} (choose from {', '.join(SOURCES)})"
        )
    return names


def wide_tempo(style_tempo: tuple[int, int], rng: np.random.Generator) -> float:
    """A quarter-note tempo around the style's range but wider (x0.7-1.5), within 55-210."""
    lo, hi = style_tempo
    return float(np.clip(round(rng.uniform(lo * 0.7, hi * 1.5)), *TEMPO_RANGE))


# ---------------------------------------------------------------------------------- fills (MMA)


PFLIB = ("8beat1", "8beat2", "16beat1", "16beat2", "rock1", "metal1", "metal2", "highfive", "slowrock")


@lru_cache(maxsize=1)
def mma_grooves() -> frozenset[str]:
    """Every groove name the installed MMA standard and pflib libraries define, lower-cased."""
    names = set()
    for path in [*MMA_LIB.glob("*.mma"), *(MMA_LIB.parent / "pflib").glob("*.mma")]:
        for line in path.read_text(errors="replace").splitlines():
            m = re.match(r"\s*DefGroove\s+(\S+)", line, re.IGNORECASE)
            if m:
                names.add(m.group(1).lower())
    return frozenset(names)


def groove_plan(groove: str, n_bars: int, rng: np.random.Generator) -> list[str]:
    """The groove of every bar, as an arranger uses a library groove's variations: ``Intro``
    for the first bar (songs of 8 bars or more), ``Fill`` on the last bar of each phrase
    (4 or 8 bars), a ``Plus`` or ``Sus`` variant for some phrases, ``End`` on the last bar;
    each only where MMA's library has it (else the groove itself)."""
    known = mma_grooves()

    def variant(suffix: str) -> str | None:
        name = groove + suffix
        return name if name.lower() in known else None

    phrase = int(rng.choice([4, 8]))
    plan = [groove] * n_bars
    for start in range(0, n_bars, phrase):
        alt = variant(str(rng.choice(["Plus", "Sus", "1"]))) if rng.random() < 0.35 else None
        for bar in range(start, min(start + phrase, n_bars)):
            plan[bar] = alt or groove
        fill = variant("Fill")
        if fill and start + phrase - 1 < n_bars - 1 and rng.random() < 0.8:
            plan[start + phrase - 1] = fill
    if n_bars >= 8 and (intro := variant("Intro")):
        plan[0] = intro
    if n_bars >= 4 and (end := variant("End")):
        plan[-1] = end
    return plan


def pflib_plan(n_bars: int, rng: np.random.Generator) -> tuple[str, list[str]]:
    """A pflib groove family and the groove of every bar: sections A and B by turns, phrase by
    phrase (4 or 8 bars), each phrase but the last ending on its section's fill-in (``FA``,
    ``FB``; 85% of them), and the ending (``E``, two bars) on the last two bars of songs of 6
    bars or more."""
    family = PFLIB[int(rng.integers(len(PFLIB)))]
    phrase = int(rng.choice([4, 8]))
    plan: list[str] = []
    for k, start in enumerate(range(0, n_bars, phrase)):
        section = "A" if k % 2 == 0 else "B"
        end = min(start + phrase, n_bars)
        plan += [family + section] * (end - start)
        if end < n_bars and rng.random() < 0.85:
            plan[end - 1] = family + "F" + section
    if n_bars >= 6:
        plan[-2:] = [family + "E"] * 2
    return family, plan


# ----------------------------------------------------------------------------------- hydrogen


@dataclass(frozen=True)
class H2Song:
    name: str
    patterns: dict[str, tuple[int, tuple[tuple[int, int, float], ...]]]  # name -> (size, (tick, GM note, velocity))
    sequence: tuple[tuple[str, ...], ...]  # the patterns played together, bar after bar


def _strip_ns(root: ET.Element) -> None:
    for el in root.iter():
        if "}" in el.tag:
            el.tag = el.tag.split("}", 1)[1]


def load_h2song(path: Path) -> H2Song:
    """A Hydrogen ``.h2song``: its patterns as General MIDI drum notes (instruments classed by
    name, :func:`mtk.corpus.kits.classify`) and its pattern sequence."""
    from mtk.corpus.kits import classify

    root = ET.parse(path).getroot()
    _strip_ns(root)
    notes_of = {}
    for inst in root.iterfind("instrumentList/instrument"):
        name = inst.findtext("name") or ""
        cls = classify(name)
        if cls == "other" and not re.search(r"stick|rim", name.lower()):
            continue  # cowbells, bells, tambourines: not played by a drum kit
        notes_of[inst.findtext("id")] = CLASS_NOTES[cls]
    patterns = {}
    for pat in root.iterfind("patternList/pattern"):
        notes = []
        for note in pat.iterfind("noteList/note"):
            gm = notes_of.get(note.findtext("instrument"))
            if gm is None or float(note.findtext("probability") or 1) < 1:
                continue
            notes.append((int(note.findtext("position") or 0), gm, float(note.findtext("velocity") or 0.8)))
        patterns[pat.findtext("name") or ""] = (int(pat.findtext("size") or 192), tuple(sorted(notes)))
    sequence = tuple(
        tuple(p.text or "" for p in group.iterfind("patternID") if (p.text or "") in patterns)
        for group in root.iterfind("patternSequence/group")
    )
    return H2Song(path.stem, patterns, tuple(g for g in sequence if g))


@lru_cache(maxsize=1)
def h2songs() -> tuple[H2Song, ...]:
    """Hydrogen's installed demo songs with a 4/4 pattern sequence and drum notes."""
    out = []
    for path in sorted(H2_SONGS.glob("*.h2song")):
        try:
            song = load_h2song(path)
        except (ET.ParseError, ValueError):
            continue
        if song.sequence and all(song.patterns[p][0] == 4 * H2_TICKS_PER_QUARTER for g in song.sequence for p in g):
            out.append(song)
    return tuple(out)


def h2songs_for(split: str) -> tuple[H2Song, ...]:
    """The demo songs a split plays: the held-out ones for test, the others for train and valid."""
    songs = h2songs()
    return tuple(s for s in songs if (s.name in TEST_H2SONGS) == (split == "test"))


def hydrogen_part(song: H2Song, n_quarters: float, rng: np.random.Generator, tick: Any) -> tuple[list[Note], dict]:
    """``song``'s drum part from a random group of its sequence on, looped, for ``n_quarters``."""
    start = int(rng.integers(len(song.sequence)))
    notes, groups = [], []
    for bar in range(int(np.ceil(n_quarters / 4))):
        group = song.sequence[(start + bar) % len(song.sequence)]
        groups.append(list(group))
        for name in group:
            for pos, gm, vel in song.patterns[name][1]:
                q = bar * 4 + pos / H2_TICKS_PER_QUARTER
                if q < n_quarters - 1e-6:
                    notes.append(_note(tick(q, rng), gm, 127 * vel, rng))
    return notes, {"song": song.name, "start": start, "patterns": groups}


# ---------------------------------------------------------------------------------- generated

FEELS = ("groove", "half", "double", "ride", "shuffle")
FEEL_P = (0.5, 0.14, 0.1, 0.16, 0.1)
FILLS = ("toms", "snare", "triplet", "mixed", "stabs")


@dataclass(frozen=True)
class Grid:
    """A song's metre in quarter notes: bar length, beats a bar, subdivisions a beat."""

    bar_ql: float
    beats: int
    sub: int  # 4 in simple metres (sixteenths), 3 in compound (eighths of a dotted quarter)

    @property
    def beat_ql(self) -> float:
        return self.bar_ql / self.beats

    @property
    def step_ql(self) -> float:
        return self.beat_ql / self.sub


def _note(tick: int, pitch: int, velocity: float, rng: np.random.Generator, length: int = 60) -> Note:
    vel = int(np.clip(round(velocity + rng.normal(0, 4)), 8, 127))
    return Note(vel, int(pitch), tick, tick + length)


def generate(
    notes: list[Note], grid: Grid, n_bars: int, rng: np.random.Generator, tick: Any, to_ql: Any
) -> tuple[list[Note], dict]:
    """Variations and fills over a groove's drum ``notes`` (humanized ticks).

    ``tick(ql, rng)`` places a note (with humanizing), ``to_ql(tick)`` reads one back. Each
    phrase of 4 or 8 bars gets a feel (:data:`FEELS`), maybe ghost notes, open hi-hats and
    flams, and (but the last) a fill on its last beats; the phrase after a fill opens with a
    crash and a kick. Returns the notes and the plan (per phrase) for ``meta.json``.
    """
    phrase = int(rng.choice([4, 8]))
    out: list[Note] = []
    plan = []
    bar_of = lambda n: int(to_ql(n.start) // grid.bar_ql + 1e-6)  # noqa: E731
    crash_next = False
    for first in range(0, n_bars, phrase):
        last = min(first + phrase, n_bars)
        mine = [n for n in notes if first <= bar_of(n) < last]
        feel = (
            str(rng.choice(FEELS, p=FEEL_P)) if grid.sub == 4 else str(rng.choice(["groove", "ride"], p=[0.75, 0.25]))
        )
        mine = _feel(mine, feel, grid, first, last, rng, tick, to_ql)
        info: dict[str, Any] = {"first_bar": first, "end_bar": last, "feel": feel}
        if crash_next:
            t0 = first * grid.bar_ql
            mine = [n for n in mine if not (n.pitch in HATS + KICKS and abs(to_ql(n.start) - t0) < grid.step_ql / 2)]
            mine += [
                _note(tick(t0, rng), CRASH, rng.uniform(95, 120), rng),
                _note(tick(t0, rng), KICK, rng.uniform(95, 115), rng),
            ]
            info["crash"] = True
        if rng.random() < 0.35:
            mine += _ghosts(mine, grid, first, last, rng, tick, to_ql)
            info["ghosts"] = True
        if rng.random() < 0.4:
            mine = _open_hats(mine, grid, rng, to_ql)
            info["open_hats"] = True
        if rng.random() < 0.2:
            mine += _flams(mine, rng)
            info["flams"] = True
        crash_next = False
        if last < n_bars and rng.random() < 0.75:
            kind = str(rng.choice(FILLS))
            beats = int(rng.choice([1, 2, grid.beats])) if grid.beats > 1 else 1
            start = last * grid.bar_ql - beats * grid.beat_ql
            mine = [n for n in mine if to_ql(n.start) < start - grid.step_ql / 2]
            mine += _fill(kind, start, beats, grid, rng, tick)
            info["fill"] = {"kind": kind, "beats": beats}
            crash_next = rng.random() < 0.85
        out += mine
        plan.append(info)
    return _dedupe(out), {"phrase_bars": phrase, "phrases": plan}


DEDUPE_TICKS = 20  # same drum closer than this (about 20 ms at 120 bpm): one stroke, the louder


def _dedupe(notes: list[Note]) -> list[Note]:
    """One note where a variation put a drum twice at (nearly) the same time (a hi-hat turned
    ride on a ride stroke); flams' grace strokes come earlier than this and stay."""
    out: list[Note] = []
    last: dict[int, Note] = {}
    for n in sorted(notes, key=lambda n: (n.start, n.pitch)):
        prev = last.get(n.pitch)
        if prev is not None and n.start - prev.start < DEDUPE_TICKS:
            if n.velocity > prev.velocity:
                prev.velocity = n.velocity
            continue
        out.append(n)
        last[n.pitch] = n
    return out


def _feel(notes: list[Note], feel: str, grid: Grid, first: int, last: int, rng, tick, to_ql) -> list[Note]:
    if feel == "ride":
        return [_renote(n, RIDE) if n.pitch in HATS else n for n in notes]
    if feel == "shuffle":  # off-beat eighths move to the last triplet eighth
        out = []
        for n in notes:
            pos = to_ql(n.start) / grid.beat_ql
            frac = pos - np.floor(pos)
            if abs(frac - 0.5) < 0.06:
                n = Note(n.velocity, n.pitch, tick((np.floor(pos) + 2 / 3) * grid.beat_ql, rng), 0)
                n.end = n.start + 60
            out.append(n)
        return out
    if feel in ("half", "double"):
        keep = [n for n in notes if n.pitch not in KICKS + SNARES]
        for bar in range(first, last):
            b = bar * grid.bar_ql
            if feel == "half":  # kick on one (and maybe the and of two), snare on three
                hits = [(0.0, KICK, 105), (grid.bar_ql / 2, SNARE, 110)]
                if rng.random() < 0.5:
                    hits.append((1.5 * grid.beat_ql, KICK, 90))
            else:  # kick on every beat, snare on every off-beat eighth
                hits = [(k * grid.beat_ql, KICK, 100) for k in range(grid.beats)]
                hits += [(k * grid.beat_ql + grid.beat_ql / 2, SNARE, 105) for k in range(grid.beats)]
            keep += [_note(tick(b + t, rng), p, v, rng) for t, p, v in hits if b + t < last * grid.bar_ql]
        return keep
    return notes


def _renote(n: Note, pitch: int) -> Note:
    return Note(n.velocity, pitch, n.start, n.end)


def _ghosts(notes: list[Note], grid: Grid, first: int, last: int, rng, tick, to_ql) -> list[Note]:
    """Quiet snare strokes (velocity 15-40) on empty subdivisions, away from the loud snares."""
    loud = [to_ql(n.start) for n in notes if n.pitch in SNARES]
    out = []
    steps = int(round((last - first) * grid.bar_ql / grid.step_ql))
    for k in range(steps):
        q = first * grid.bar_ql + k * grid.step_ql
        if k % grid.sub == 0 or any(abs(q - s) < grid.step_ql * 1.5 for s in loud):
            continue
        if rng.random() < 0.22:
            out.append(_note(tick(q, rng), SNARE, rng.uniform(15, 40), rng))
    return out


def _open_hats(notes: list[Note], grid: Grid, rng, to_ql) -> list[Note]:
    """Some off-beat closed hi-hats opened (the and of the last beat most of all)."""
    out = []
    for n in notes:
        pos = to_ql(n.start) / grid.beat_ql
        frac = pos - np.floor(pos)
        last_beat = int(np.floor(pos)) % grid.beats == grid.beats - 1
        if n.pitch in (42, 44) and abs(frac - 0.5) < 0.1 and rng.random() < (0.7 if last_beat else 0.15):
            n = _renote(n, OPEN_HAT)
        out.append(n)
    return out


def _flams(notes: list[Note], rng) -> list[Note]:
    """A grace stroke 15-30 ms (at 120 bpm: 29-58 ticks) before some loud snares."""
    out = []
    for n in notes:
        if n.pitch in SNARES and n.velocity >= 80 and rng.random() < 0.5:
            start = max(0, n.start - int(rng.integers(29, 58)))
            out.append(Note(int(rng.integers(30, 55)), SNARE, start, start + 30))
    return out


def _fill(kind: str, start: float, beats: int, grid: Grid, rng, tick) -> list[Note]:
    """A fill from ``start`` (quarters) over ``beats`` beats, rising in velocity."""
    if kind == "triplet":
        step, n_steps = grid.beat_ql / 3, beats * 3
    else:
        step, n_steps = grid.step_ql, beats * grid.sub
    toms = list(TOMS) if rng.random() < 0.8 else list(TOMS)[::-1]
    out = []
    for k in range(n_steps):
        q = start + k * step
        vel = 75 + 40 * k / max(1, n_steps - 1)
        if kind == "toms":
            pitch = toms[min(len(toms) - 1, k * len(toms) // n_steps)]
        elif kind == "snare":
            pitch = SNARE
            vel = 55 + 60 * k / max(1, n_steps - 1)
        elif kind == "triplet":
            pitch = SNARE if k % 3 == 0 else toms[(k // 3) % len(toms)]
        elif kind == "mixed":
            if rng.random() < 0.25:
                continue
            pitch = int(rng.choice([SNARE, *toms]))
        else:  # stabs: crash and kick together on eighths, or rests
            if k % 2 or rng.random() < 0.3:
                continue
            t = tick(q, rng)
            out += [_note(t, CRASH, 110, rng), _note(t, KICK, 105, rng)]
            continue
        out.append(_note(tick(q, rng), pitch, vel, rng))
        if kind != "snare" and k % grid.sub == 0 and rng.random() < 0.5:
            out.append(_note(tick(q, rng), KICK, 90, rng))
    return out


def describe(notes: list[Note]) -> dict[str, int]:
    """How many hits of each drum class a part plays (for the labels)."""
    counts: dict[str, int] = {}
    for n in notes:
        cls = drum_class(n.pitch)
        counts[cls] = counts.get(cls, 0) + 1
    return dict(sorted(counts.items()))


def drum_instrument(notes: list[Note], source: str) -> Instrument:
    return Instrument(
        program=0, is_drum=True, name=f"drums:mtk-{source}", notes=sorted(notes, key=lambda n: (n.start, n.pitch))
    )
