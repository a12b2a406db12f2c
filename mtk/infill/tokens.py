"""REMI-like melody tokens with structure labels and a bar count-down (Tan, Su & Yang 2022).

A :class:`Melody` is one monophonic line on a grid of :data:`TICKS_PER_QUARTER` ticks per
quarter note (12: sixteenths are 3 ticks, eighth-note triplets 4, sixteenth triplets 2), in
one meter, divided into labelled sections. Its tokens, bar by bar::

    Bar(k) [Meter(n/d)] [Tempo(t)] Struct(X)  Position(p) Pitch(m) Duration(d)  ...

- ``Bar(k)`` counts down the bars left in the section after this one (0 in its last bar,
  saturating at :data:`MAX_COUNTDOWN`): what fixes the length of an infill.
- ``Meter`` and ``Tempo`` appear in the first bar and where they change (a melody has one
  meter; the tempo is quantised to the seed's 4 bpm steps).
- ``Struct(X)`` is the section's label (A-H) in every bar.
- ``Position`` is the onset in ticks from the bar line, a grid per meter (48 in 4/4, 36 in
  6/8, 72 in 12/8); ``Duration`` in ticks may cross bar lines.

Unlike the seed (4/4 only, 16 positions), every meter of :data:`METERS` is covered and
triplets are kept; onsets and durations off the grid are rounded to it
(:func:`quantize`), so the round trip tokens -> MIDI -> tokens is exact on quantised input.
"""

from __future__ import annotations

from dataclasses import dataclass, field

TICKS_PER_QUARTER = 12
METERS: tuple[tuple[int, int], ...] = ((2, 4), (3, 4), (4, 4), (2, 2), (6, 8), (9, 8), (12, 8))
MAX_COUNTDOWN = 31
LABELS = "ABCDEFGH"
TEMPI = tuple(range(28, 213, 4))  # the seed's 47 tempo levels
PITCHES = range(21, 109)  # the piano's range
MAX_BAR_TICKS = max(round(n * 4 / d * TICKS_PER_QUARTER) for n, d in METERS)  # 72 (12/8)
MAX_DURATION = 2 * MAX_BAR_TICKS
SPECIALS = ("PAD", "BOS", "EOS", "SEP", "GAP")


def bar_ticks(meter: tuple[int, int]) -> int:
    """Ticks in one bar of ``meter``."""
    return round(meter[0] * 4 / meter[1] * TICKS_PER_QUARTER)


@dataclass(frozen=True)
class Note:
    pitch: int
    start: int  # ticks from the first bar line
    duration: int  # ticks


@dataclass(frozen=True)
class Section:
    first_bar: int  # 0-based
    end_bar: int  # exclusive
    label: str

    @property
    def n_bars(self) -> int:
        return self.end_bar - self.first_bar


@dataclass
class Melody:
    """One line on the tick grid: notes sorted by onset, never overlapping."""

    meter: tuple[int, int]
    tempo: float
    notes: list[Note]
    n_bars: int
    sections: list[Section] = field(default_factory=list)
    marks: tuple[int, ...] = ()  # bars at which the score marks a section edge (double bars, repeats)

    @property
    def bar_ticks(self) -> int:
        return bar_ticks(self.meter)

    def bar_notes(self, first_bar: int, end_bar: int) -> list[Note]:
        """Notes with onsets in bars ``[first_bar, end_bar)``."""
        lo, hi = first_bar * self.bar_ticks, end_bar * self.bar_ticks
        return [n for n in self.notes if lo <= n.start < hi]

    def label_of(self, bar: int) -> str:
        for s in self.sections:
            if s.first_bar <= bar < s.end_bar:
                return s.label
        return LABELS[0]


def vocabulary() -> list[str]:
    """Every token, in id order."""
    return [
        *SPECIALS,
        *(f"Meter({n}/{d})" for n, d in METERS),
        *(f"Tempo({t})" for t in TEMPI),
        *(f"Struct({x})" for x in LABELS),
        *(f"Bar({k})" for k in range(MAX_COUNTDOWN + 1)),
        *(f"Position({p})" for p in range(MAX_BAR_TICKS)),
        *(f"Pitch({p})" for p in PITCHES),
        *(f"Duration({d})" for d in range(1, MAX_DURATION + 1)),
    ]


VOCAB = vocabulary()
TOKEN_ID = {t: i for i, t in enumerate(VOCAB)}


def quantize(notes: list[tuple[int, float, float]], *, ticks_per_quarter: int = TICKS_PER_QUARTER) -> list[Note]:
    """Notes ``(pitch, start, duration)`` in quarter notes onto the tick grid: onsets and
    durations rounded (at least one tick), pitches folded by octaves into :data:`PITCHES`,
    the highest note kept where onsets collide, and each note cut at the next onset."""
    grid: dict[int, Note] = {}
    for pitch, start, dur in notes:
        s, d = round(start * ticks_per_quarter), max(1, round(dur * ticks_per_quarter))
        while pitch < PITCHES.start:
            pitch += 12
        while pitch >= PITCHES.stop:
            pitch -= 12
        if s not in grid or pitch > grid[s].pitch:
            grid[s] = Note(pitch, s, d)
    ordered = [grid[s] for s in sorted(grid)]
    out = []
    for i, n in enumerate(ordered):
        limit = ordered[i + 1].start - n.start if i + 1 < len(ordered) else MAX_DURATION
        out.append(Note(n.pitch, n.start, max(1, min(n.duration, limit, MAX_DURATION))))
    return out


def quantize_tempo(bpm: float) -> int:
    """The nearest of :data:`TEMPI`."""
    return min(TEMPI, key=lambda t: (abs(t - bpm), t))


def encode(melody: Melody) -> list[str]:
    """The melody's tokens (no BOS/EOS)."""
    if melody.meter not in METERS:
        raise ValueError(f"unsupported meter {melody.meter[0]}/{melody.meter[1]}")
    ticks = melody.bar_ticks
    by_bar: dict[int, list[Note]] = {}
    for n in melody.notes:
        by_bar.setdefault(n.start // ticks, []).append(n)
    out: list[str] = []
    for bar in range(melody.n_bars):
        section = next((s for s in melody.sections if s.first_bar <= bar < s.end_bar), None)
        end = section.end_bar if section else melody.n_bars
        out.append(f"Bar({min(MAX_COUNTDOWN, end - 1 - bar)})")
        if bar == 0:
            out += [f"Meter({melody.meter[0]}/{melody.meter[1]})", f"Tempo({quantize_tempo(melody.tempo)})"]
        out.append(f"Struct({section.label[0] if section else LABELS[0]})")
        for n in by_bar.get(bar, []):
            out += [f"Position({n.start - bar * ticks})", f"Pitch({n.pitch})", f"Duration({n.duration})"]
    return out


def decode(tokens: list[str]) -> Melody:
    """The melody of tokens from :func:`encode` (special tokens are skipped).

    A section starts at the first bar, where the label changes, and after a bar whose
    count-down was 0.
    """
    meter, tempo = (4, 4), 120.0
    notes: list[Note] = []
    bars: list[tuple[int, str]] = []  # (count-down, label) per bar
    position = pitch = None
    for tok in tokens:
        if tok in SPECIALS:
            continue
        kind, _, rest = tok.partition("(")
        value = rest.rstrip(")")
        if kind == "Bar":
            bars.append((int(value), LABELS[0]))
        elif kind == "Meter":
            num, den = value.split("/")
            meter = (int(num), int(den))
        elif kind == "Tempo":
            tempo = float(value)
        elif kind == "Struct" and bars:
            bars[-1] = (bars[-1][0], value)
        elif kind == "Position":
            position = int(value)
        elif kind == "Pitch":
            pitch = int(value)
        elif kind == "Duration" and bars and position is not None and pitch is not None:
            notes.append(Note(pitch, (len(bars) - 1) * bar_ticks(meter) + position, int(value)))
            position = pitch = None
    sections: list[Section] = []
    for i, (_, label) in enumerate(bars):
        if not sections or label != sections[-1].label or bars[i - 1][0] == 0:
            sections.append(Section(i, i + 1, label))
        else:
            sections[-1] = Section(sections[-1].first_bar, i + 1, label)
    return Melody(meter, tempo, notes, len(bars), sections)


def ids(tokens: list[str]) -> list[int]:
    """Token ids; an unknown token raises ``KeyError`` naming it."""
    return [TOKEN_ID[t] for t in tokens]
