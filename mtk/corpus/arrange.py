"""Arrange a melody into a four-part song: melody, chords, bass and drums.

Simple and quadruple meters (3/4, 4/4; 2/4 and 2/2 counted in 4) take their bass, comping
and drums from an MMA library groove of the chosen style (Debian ``mma``); compound meters
(6/8, 9/8, 12/8), which MMA's grooves do not cover well, from mtk's own pattern generator.
Every part is humanized (timing and velocity) from the song's random generator.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import miditoolkit
import numpy as np
from miditoolkit import Instrument, Note, TempoChange, TimeSignature

from mtk.corpus import drumparts
from mtk.corpus.harmony import NOTE_NAMES, Chord, harmonize
from mtk.corpus.styles import CLASS_NOTES, STYLES, Style
from mtk.corpus.works import Work
from mtk.errors import MtkError, UsageError

TPB = 480
PARTS = ("melody", "chords", "bass", "drums")


@dataclass
class Arrangement:
    """A song ready to render: one instrument list per part and its musical facts."""

    style: str
    groove: str
    bpm: float  # counted beats per minute
    quarter_bpm: float
    meter: tuple[int, int]
    key: str
    transpose: int
    n_bars: int
    bar_seconds: float
    beats_per_bar: int
    chords: list[Chord]
    programs: dict[str, int]
    parts: dict[str, list[Instrument]] = field(default_factory=dict)
    drum_part: dict = field(default_factory=lambda: {"source": "groove"})  # mtk.corpus.drumparts's label

    @property
    def seconds(self) -> float:
        return self.n_bars * self.bar_seconds

    def midi(self, parts: tuple[str, ...] = PARTS) -> miditoolkit.MidiFile:
        """A MIDI file with the given parts (tempo and meter included)."""
        midi = miditoolkit.MidiFile(ticks_per_beat=TPB)
        midi.tempo_changes = [TempoChange(self.quarter_bpm, 0)]
        midi.time_signature_changes = [TimeSignature(self.meter[0], self.meter[1], 0)]
        midi.instruments = [inst for part in parts for inst in self.parts.get(part, [])]
        return midi

    def beat_times(self) -> list[float]:
        beat = self.bar_seconds / self.beats_per_bar
        return [round(i * beat, 6) for i in range(self.n_bars * self.beats_per_bar)]

    def downbeat_times(self) -> list[float]:
        return [round(i * self.bar_seconds, 6) for i in range(self.n_bars)]


def mma_executable() -> str | None:
    return shutil.which("mma")


def arrange(
    work: Work,
    style_name: str,
    rng: np.random.Generator,
    *,
    transpose: int = 0,
    max_seconds: float | None = None,
    programs: dict[str, int] | None = None,
    quarter_bpm: float | None = None,
    drum_part: str = "groove",
    part_rng: np.random.Generator | None = None,
    split: str = "train",
) -> Arrangement:
    """Arrange ``work`` in ``style_name``, moved ``transpose`` semitones (then by octaves into a
    singable range); randomness (tempo, groove, programs, humanizing) from ``rng``, except the
    ``programs`` (melody, chords, bass) and tempo a band fixes.

    ``drum_part`` names the drum part's source (:mod:`mtk.corpus.drumparts`; the default, the
    groove, draws nothing more); the other sources draw from ``part_rng`` alone (tempo too,
    wider than the style's, unless a band fixes it), and ``split`` chooses the Hydrogen demo
    songs they may play."""
    style = STYLES[style_name]
    compound = work.meter[1] == 8
    part_rng = part_rng if part_rng is not None else np.random.default_rng(0)
    if quarter_bpm is None and drum_part != "groove":
        quarter_bpm = drumparts.wide_tempo(style.tempo, part_rng)
    if quarter_bpm is None:
        quarter_bpm = float(rng.integers(style.tempo[0], style.tempo[1] + 1))
    bpm = quarter_bpm / 1.5 if compound else quarter_bpm  # compound meters count dotted quarters
    bar_seconds = work.bar_ql * 60.0 / quarter_bpm
    n_bars = work.n_bars
    if max_seconds is not None:
        n_bars = max(2, min(n_bars, int(max_seconds // bar_seconds)))
    transpose = _transposition(work, transpose)
    tonic = (work.tonic_pc + transpose) % 12
    notes = [(p + transpose, s, d) for p, s, d in work.notes if s < n_bars * work.bar_ql - 1e-6]
    evidence = [(p + transpose, s, d) for p, s, d in (work.harmony or work.notes)]
    slots = 2 if work.bar_ql >= 4 and not compound else 1
    chords = harmonize(evidence, tonic_pc=tonic, mode=work.mode, n_bars=n_bars, bar_ql=work.bar_ql, slots_per_bar=slots)
    if programs is None:
        programs = {
            "melody": int(rng.choice(style.melody)),
            "chords": int(rng.choice(style.chords)),
            "bass": int(rng.choice(style.bass)),
        }
    programs = {**programs, "drums": 0}
    arr = Arrangement(
        style=style.name,
        groove="",
        bpm=bpm,
        quarter_bpm=quarter_bpm,
        meter=work.meter,
        key=f"{NOTE_NAMES[tonic]} {work.mode}",
        transpose=transpose,
        n_bars=n_bars,
        bar_seconds=bar_seconds,
        beats_per_bar=work.beats_per_bar,
        chords=chords,
        programs=programs,
    )
    melody = Instrument(program=programs["melody"], name="melody")
    for pitch, start, dur in notes:
        end = min(start + dur, n_bars * work.bar_ql)
        on_beat = abs(start / work.beat_ql - round(start / work.beat_ql)) < 1e-6
        vel = int(np.clip(rng.normal(92 if on_beat else 80, 6), 40, 127))
        on = _tick(start, rng, quarter_bpm)
        melody.notes.append(Note(vel, pitch, on, max(on + 30, _tick(end, None) - 24)))
    arr.parts["melody"] = [melody]
    if compound:
        arr.groove = "mtk-compound"
        arr.parts.update(_compound_parts(arr, work, rng))
    elif drum_part == "pflib" and work.beats_per_bar in (2, 4):
        family, plan = drumparts.pflib_plan(n_bars, part_rng)
        arr.groove = plan[0]
        arr.parts.update(_mma_parts(arr, work, style, rng, plan))
        arr.drum_part = {"source": "pflib", "family": family, "grooves": plan}
    else:
        arr.groove = str(rng.choice(style.grooves[4 if work.beats_per_bar in (2, 4) else work.beats_per_bar]))
        plan = drumparts.groove_plan(arr.groove, n_bars, part_rng) if drum_part == "fills" else None
        arr.parts.update(_mma_parts(arr, work, style, rng, plan))
        if plan is not None:
            arr.drum_part = {"source": "fills", "grooves": plan}
    if drum_part in ("hydrogen", "generated") or (
        drum_part in ("fills", "pflib") and arr.drum_part["source"] == "groove"
    ):
        _rewrite_drums(arr, work, drum_part, part_rng, split)
    if "drums" in arr.parts:
        arr.drum_part["hits"] = drumparts.describe([n for inst in arr.parts["drums"] for n in inst.notes])
    return arr


def _rewrite_drums(arr: Arrangement, work: Work, source: str, rng: np.random.Generator, split: str) -> None:
    """Replace the groove's drums with a Hydrogen song's part or the generator's variations;
    a song Hydrogen's 4/4 patterns cannot play (another metre, no demo song for the split),
    and a song asked for MMA's fills or pflib grooves in a metre they do not cover, gets the
    generator's."""
    tick = lambda ql, r=None: _tick(ql, r, arr.quarter_bpm)  # noqa: E731
    songs = drumparts.h2songs_for(split) if source == "hydrogen" else ()
    n_ql = arr.n_bars * work.bar_ql
    if source == "hydrogen" and songs and work.meter[1] == 4 and work.bar_ql in (2.0, 4.0):
        song = songs[int(rng.integers(len(songs)))]
        notes, info = drumparts.hydrogen_part(song, n_ql, rng, tick)
        arr.drum_part = {"source": "hydrogen", **info}
    else:
        grid = drumparts.Grid(work.bar_ql, work.beats_per_bar, 3 if work.meter[1] == 8 else 4)
        groove = [n for inst in arr.parts.get("drums", []) for n in inst.notes]
        notes, info = drumparts.generate(groove, grid, arr.n_bars, rng, tick, lambda t: t / TPB)
        arr.drum_part = {"source": "generated", **info}
        if source != "generated":
            arr.drum_part["instead_of"] = source
    notes = [n for n in notes if n.start < n_ql * TPB]
    arr.parts["drums"] = [drumparts.drum_instrument(notes, arr.drum_part["source"])] if notes else []


def _transposition(work: Work, shift: int) -> int:
    """``shift`` moved by octaves so the melody's median lies in MIDI 60-76."""
    median = float(np.median([p for p, _, _ in work.notes])) + shift
    while median > 76:
        shift, median = shift - 12, median - 12
    while median < 60:
        shift, median = shift + 12, median + 12
    return shift


JITTER_S = 0.004  # standard deviation of humanized timing


def _tick(ql: float, rng: np.random.Generator | None, quarter_bpm: float = 120.0) -> int:
    """Quarter notes to ticks, with humanizing jitter when ``rng`` is given."""
    tick = ql * TPB
    if rng is not None:
        sd = JITTER_S * quarter_bpm / 60 * TPB
        tick += float(np.clip(rng.normal(0, sd), -2.5 * sd, 2.5 * sd))
    return max(0, int(round(tick)))


def _mma_parts(
    arr: Arrangement, work: Work, style: Style, rng: np.random.Generator, plan: list[str] | None = None
) -> dict[str, list[Instrument]]:
    """The song's chords, bass and drums from MMA: ``arr.groove`` throughout, or the groove of
    each bar in ``plan`` (:func:`mtk.corpus.drumparts.groove_plan`)."""
    exe = mma_executable()
    if exe is None:
        raise UsageError("MMA is not installed", hint="apt-get install mma (or `make corpus-deps`)")
    beats = 4 if work.beats_per_bar in (2, 4) else work.beats_per_bar
    lines = [
        f"RndSeed {int(rng.integers(1, 2**31 - 1))}",
        f"Tempo {arr.quarter_bpm:g}",
        f"Time {beats}",
        f"Groove {arr.groove}",
    ]
    bar_beats = work.bar_ql  # quarter notes per bar
    for bar in range(arr.n_bars):
        tokens = []
        for beat in range(beats):
            t = bar * bar_beats + beat * bar_beats / beats
            chord = next(c for c in reversed(arr.chords) if c.start <= t + 1e-6)
            tokens.append(chord.name if not tokens or chord.name != _last(tokens) else "/")
        if plan is not None and (bar == 0 or plan[bar] != plan[bar - 1]):
            lines.append(f"Groove {plan[bar]}")
        lines.append(f"{bar + 1} " + " ".join(tokens))
    with tempfile.TemporaryDirectory(prefix="mtk-mma-") as tmp:
        src, out = Path(tmp, "song.mma"), Path(tmp, "song.mid")
        src.write_text("\n".join(lines) + "\n")
        proc = subprocess.run([exe, str(src), "-f", str(out)], capture_output=True, text=True, check=False)
        if proc.returncode != 0 or not out.is_file():
            err = [line for line in (proc.stdout + proc.stderr).splitlines() if "Error" in line]
            raise MtkError(f"mma failed on groove {arr.groove} ({err[0] if err else proc.returncode})")
        mma = miditoolkit.MidiFile(str(out))
    scale = TPB / mma.ticks_per_beat
    parts: dict[str, list[Instrument]] = {"chords": [], "bass": [], "drums": []}
    for inst in mma.instruments:
        name = inst.name or ""
        part = "drums" if inst.is_drum else "bass" if name.lower().startswith(("bass", "walk")) else "chords"
        first_of_part = not parts[part]
        program = arr.programs[part] if first_of_part and part != "drums" else int(inst.program)
        new = Instrument(program=program, is_drum=inst.is_drum, name=f"{part}:{name}")
        for n in inst.notes:
            start = _tick(n.start * scale / TPB, rng, arr.quarter_bpm)
            end = max(start + 20, int(round(n.end * scale)))
            if start >= arr.n_bars * work.bar_ql * TPB:
                continue
            vel = int(np.clip(n.velocity + rng.normal(0, 5), 20, 127))
            new.notes.append(Note(vel, n.pitch, max(0, start), end))
        if new.notes:
            parts[part].append(new)
    return parts


def _last(tokens: list[str]) -> str:
    return next(t for t in reversed(tokens) if t != "/")


def _compound_parts(arr: Arrangement, work: Work, rng: np.random.Generator) -> dict[str, list[Instrument]]:
    """mtk's own patterns for compound meters: one chord and bass note per dotted quarter."""
    chords = Instrument(program=arr.programs["chords"], name="chords")
    bass = Instrument(program=arr.programs["bass"], name="bass")
    drums = Instrument(program=0, is_drum=True, name="drums")
    beat_ql = work.beat_ql
    for bar in range(arr.n_bars):
        for beat in range(work.beats_per_bar):
            t = bar * work.bar_ql + beat * beat_ql
            chord = next(c for c in reversed(arr.chords) if c.start <= t + 1e-6)
            s = _tick(t, rng, arr.quarter_bpm)
            for p in chord.pitches(4):
                chords.notes.append(Note(int(np.clip(rng.normal(62, 5), 30, 110)), p, s, _tick(t + beat_ql, None) - 20))
            root = chord.pitches(2)[0] + (7 if beat % 2 else 0)
            bass.notes.append(Note(int(np.clip(rng.normal(88, 5), 40, 120)), root, s, _tick(t + beat_ql, None) - 30))
            hits = [("kick" if beat % 2 == 0 else "snare", 0.0, 100)]
            hits += [("hihat_closed", k * beat_ql / 3, 70 if k else 84) for k in range(3)]
            if bar % 4 == 0 and beat == 0:
                hits.append(("crash", 0.0, 96))
            for cls, off, vel in hits:
                st = _tick(t + off, rng, arr.quarter_bpm)
                v = int(np.clip(rng.normal(vel, 6), 20, 127))
                drums.notes.append(Note(v, CLASS_NOTES[cls], st, st + 60))
    return {"chords": [chords], "bass": [bass], "drums": [drums]}
