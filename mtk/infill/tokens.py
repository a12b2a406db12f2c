"""REMI-like melody tokens with structure labels and a bar count-down (Tan, Su & Yang 2022).

A :class:`Melody` is one monophonic line on a grid of :data:`TICKS_PER_QUARTER` ticks per
quarter note (12: sixteenths are 3 ticks, eighth-note triplets 4, sixteenth triplets 2), in
its meters, divided into labelled sections. Its tokens, bar by bar::

    Bar(k) [Meter(n/d)] [Tempo(t)] Struct(X)  Position(p) Pitch(m) Duration(d)  ...

- ``Bar(k)`` counts down the bars left in the section after this one (0 in its last bar,
  saturating at :data:`MAX_COUNTDOWN`): what fixes the length of an infill.
- ``Meter`` appears in the first bar and in every bar where the meter changes; ``Tempo`` in
  the first bar (quantised to the seed's 4 bpm steps).
- ``Struct(X)`` is the section's label (A-H) in every bar.
- ``Position`` is the onset in ticks from the bar line, a grid per meter (48 in 4/4, 18 in
  3/8, 72 in 12/8); ``Duration`` in ticks may cross bar lines.

Unlike the seed (4/4 only, 16 positions), every meter with a numerator from 1 to 16 over 2,
4, 8 or 16 is covered (:func:`supported`), the meter may change from bar to bar (a melody's
``meter`` is its first bar's, ``changes`` the later ones: bar positions follow the meter in
force, :meth:`Melody.bar_start`) and triplets are kept; onsets and durations off the grid are
rounded to it (:func:`quantize`), so the round trip tokens -> MIDI -> tokens is exact on quantised input.
"""

from __future__ import annotations

from dataclasses import dataclass, field

TICKS_PER_QUARTER = 12
Meter = tuple[int, int]
DENOMINATORS = (2, 4, 8, 16)
METERS: tuple[Meter, ...] = tuple((n, d) for d in DENOMINATORS for n in range(1, 17))
MAX_COUNTDOWN = 31
LABELS = "ABCDEFGH"
TEMPI = tuple(range(28, 213, 4))  # the seed's 47 tempo levels
PITCHES = range(21, 109)  # the piano's range
MAX_BAR_TICKS = max(round(n * 4 / d * TICKS_PER_QUARTER) for n, d in METERS)  # 384 (16/2)
MAX_DURATION = 192  # two bars of 4/4; longer notes are cut
SPECIALS = ("PAD", "BOS", "EOS", "SEP", "GAP")


def supported(meter: Meter) -> bool:
    """Whether ``meter`` has a token: a numerator from 1 to 16 over 2, 4, 8 or 16."""
    return 1 <= meter[0] <= 16 and meter[1] in DENOMINATORS


def unsupported_meter(meter: Meter) -> str:
    """The message for a meter without a token."""
    return f"meter {meter[0]}/{meter[1]} is not supported (numerators 1 to 16 over 2, 4, 8 or 16)"


def bar_ticks(meter: Meter, tpq: int = TICKS_PER_QUARTER) -> int:
    """Ticks in one bar of ``meter`` at ``tpq`` ticks per quarter note."""
    return tpq * 4 * meter[0] // meter[1]


Changes = tuple[tuple[int, Meter], ...]  # (bar, meter from that bar on), bars rising, after bar 0


def bar_start(meter: Meter, changes: Changes, bar: int, tpq: int = TICKS_PER_QUARTER) -> int:
    """The tick of bar line ``bar`` (0-based) when bar 0 is in ``meter`` and ``changes`` follow."""
    start, at, ticks = 0, 0, bar_ticks(meter, tpq)
    for b, m in changes:
        if b >= bar:
            break
        start, at, ticks = start + (b - at) * ticks, b, bar_ticks(m, tpq)
    return start + (bar - at) * ticks


def bar_of(meter: Meter, changes: Changes, tick: int, tpq: int = TICKS_PER_QUARTER) -> int:
    """The bar that holds ``tick`` (ticks before 0 count back in the first meter)."""
    start, at, ticks = 0, 0, bar_ticks(meter, tpq)
    for b, m in changes:
        edge = start + (b - at) * ticks
        if tick < edge:
            break
        start, at, ticks = edge, b, bar_ticks(m, tpq)
    return at + (tick - start) // ticks


def meter_at(meter: Meter, changes: Changes, bar: int) -> Meter:
    """The meter in force in ``bar``."""
    for b, m in changes:
        if b > bar:
            break
        meter = m
    return meter


def nearest_bar(meter: Meter, changes: Changes, tick: int, tpq: int = TICKS_PER_QUARTER) -> int:
    """The bar line nearest ``tick`` (the later one at the middle of a bar)."""
    bar = bar_of(meter, changes, tick, tpq)
    length = bar_ticks(meter_at(meter, changes, bar), tpq)
    return bar + 1 if 2 * (tick - bar_start(meter, changes, bar, tpq)) >= length else bar


def meter_map(events: list[tuple[int, Meter]], tpq: int = TICKS_PER_QUARTER) -> tuple[Meter, Changes]:
    """The first meter and the changes (in bars) of time-signature ``events`` ``(tick,
    meter)`` in any order: 4/4 before the first event, the last event at a time wins, a
    change off a bar line moves to the nearest one, and a meter equal to the one in force
    is no change. ``ValueError`` (:func:`unsupported_meter`) for a meter without a token."""
    for _, meter in events:
        if not supported(meter):
            raise ValueError(unsupported_meter(meter))
    by_time = dict(sorted(events))
    first = by_time.pop(0, (4, 4)) if by_time else (4, 4)
    changes: list[tuple[int, Meter]] = []
    bar, tick, current = 0, 0, first
    for time, meter in sorted(by_time.items()):
        bar += max(1, round((time - tick) / bar_ticks(current, tpq)))
        tick, current = time, meter
        if changes and changes[-1][0] == bar:
            changes.pop()  # two events rounded to one bar line: the later one holds
        previous = changes[-1][1] if changes else first
        if meter != previous:
            changes.append((bar, meter))
    return first, tuple(changes)


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

    meter: Meter  # the first bar's
    tempo: float
    notes: list[Note]
    n_bars: int
    sections: list[Section] = field(default_factory=list)
    marks: tuple[int, ...] = ()  # bars at which the score marks a section edge (double bars, repeats)
    changes: Changes = ()  # (bar, meter) where the meter changes

    def meter_at(self, bar: int) -> Meter:
        """The meter in force in ``bar``."""
        return meter_at(self.meter, self.changes, bar)

    def bar_ticks_at(self, bar: int) -> int:
        return bar_ticks(self.meter_at(bar))

    def bar_start(self, bar: int) -> int:
        """The tick of bar line ``bar``."""
        return bar_start(self.meter, self.changes, bar)

    def bar_of(self, tick: int) -> int:
        return bar_of(self.meter, self.changes, tick)

    def nearest_bar(self, tick: int) -> int:
        return nearest_bar(self.meter, self.changes, tick)

    def meters(self) -> list[Meter]:
        """The meter of every bar."""
        return [self.meter_at(b) for b in range(self.n_bars)]

    def bar_notes(self, first_bar: int, end_bar: int) -> list[Note]:
        """Notes with onsets in bars ``[first_bar, end_bar)``."""
        lo, hi = self.bar_start(first_bar), self.bar_start(end_bar)
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


def vocabulary_v1() -> list[str]:
    """The 403 tokens of infill-structformer-v1's weights, in id order (seven meters,
    positions below 72 ticks, durations up to 144)."""
    meters = ((2, 4), (3, 4), (4, 4), (2, 2), (6, 8), (9, 8), (12, 8))
    return [
        *SPECIALS,
        *(f"Meter({n}/{d})" for n, d in meters),
        *(f"Tempo({t})" for t in TEMPI),
        *(f"Struct({x})" for x in LABELS),
        *(f"Bar({k})" for k in range(32)),
        *(f"Position({p})" for p in range(72)),
        *(f"Pitch({p})" for p in PITCHES),
        *(f"Duration({d})" for d in range(1, 145)),
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
    for m in (melody.meter, *(m for _, m in melody.changes)):
        if not supported(m):
            raise ValueError(unsupported_meter(m))
    by_bar: dict[int, list[Note]] = {}
    for n in melody.notes:
        by_bar.setdefault(melody.bar_of(n.start), []).append(n)
    changes = dict(melody.changes)
    out: list[str] = []
    for bar in range(melody.n_bars):
        section = next((s for s in melody.sections if s.first_bar <= bar < s.end_bar), None)
        end = section.end_bar if section else melody.n_bars
        out.append(f"Bar({min(MAX_COUNTDOWN, end - 1 - bar)})")
        if bar == 0:
            out += [f"Meter({melody.meter[0]}/{melody.meter[1]})", f"Tempo({quantize_tempo(melody.tempo)})"]
        elif bar in changes:
            out.append(f"Meter({changes[bar][0]}/{changes[bar][1]})")
        out.append(f"Struct({section.label[0] if section else LABELS[0]})")
        start = melody.bar_start(bar)
        for n in by_bar.get(bar, []):
            out += [f"Position({n.start - start})", f"Pitch({n.pitch})", f"Duration({n.duration})"]
    return out


def decode(tokens: list[str]) -> Melody:
    """The melody of tokens from :func:`encode` (special tokens are skipped).

    A section starts at the first bar, where the label changes, and after a bar whose
    count-down was 0; a ``Meter`` token sets the meter from its bar on.
    """
    meter, tempo = (4, 4), 120.0
    first_meter: Meter | None = None
    changes: list[tuple[int, Meter]] = []
    notes: list[Note] = []
    bars: list[tuple[int, str]] = []  # (count-down, label) per bar
    start = 0  # the current bar's first tick
    position = pitch = None
    for tok in tokens:
        if tok in SPECIALS:
            continue
        kind, _, rest = tok.partition("(")
        value = rest.rstrip(")")
        if kind == "Bar":
            if bars:
                start += bar_ticks(meter)
            bars.append((int(value), LABELS[0]))
        elif kind == "Meter":
            num, den = value.split("/")
            meter = (int(num), int(den))
            if not bars or first_meter is None:
                first_meter = meter
            elif meter != (changes[-1][1] if changes else first_meter):
                changes.append((len(bars) - 1, meter))
        elif kind == "Tempo":
            tempo = float(value)
        elif kind == "Struct" and bars:
            bars[-1] = (bars[-1][0], value)
        elif kind == "Position":
            position = int(value)
        elif kind == "Pitch":
            pitch = int(value)
        elif kind == "Duration" and bars and position is not None and pitch is not None:
            notes.append(Note(pitch, start + position, int(value)))
            position = pitch = None
    sections: list[Section] = []
    for i, (_, label) in enumerate(bars):
        if not sections or label != sections[-1].label or bars[i - 1][0] == 0:
            sections.append(Section(i, i + 1, label))
        else:
            sections[-1] = Section(sections[-1].first_bar, i + 1, label)
    return Melody(first_meter or meter, tempo, notes, len(bars), sections, changes=tuple(changes))


def ids(tokens: list[str]) -> list[int]:
    """Token ids; an unknown token raises ``KeyError`` naming it."""
    return [TOKEN_ID[t] for t in tokens]
