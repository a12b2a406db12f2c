"""An :class:`~mtk.infill.data.Example` as the model's input sequences.

Decoder: ``BOS past SEP future GAP target EOS``, each segment the tokens of its bars as a
melody of its own (so each starts with its meter and tempo and counts its sections' bars
down within the segment). Orders: past 0, target 1, future 2 (``BOS`` with the past,
``SEP`` with the future, ``GAP`` and ``EOS`` with the target). Context ids: 0 for the
target's tokens when a structural context is given, else -1. Encoder: the structural
context's tokens, context id 0. The loss is taken on what follows ``GAP``.
"""

from __future__ import annotations

from dataclasses import dataclass

from mtk.infill.data import Example
from mtk.infill.tokens import TOKEN_ID, Melody, Note, Section, encode

PAST, TARGET, FUTURE = 0, 1, 2


@dataclass
class Sequences:
    tokens: list[int]
    orders: list[int]
    contexts: list[int]
    struct: list[int]  # encoder token ids (empty: no structural context)
    target_start: int  # index of the first token predicted (the one after GAP)


def window(melody: Melody, first: int, end: int) -> Melody:
    """Bars ``[first, end)`` as a melody starting at bar 0 (sections cut to the window, the
    meter in force and its changes; notes keep their durations)."""
    origin = melody.bar_start(first)
    notes = [Note(n.pitch, n.start - origin, n.duration) for n in melody.bar_notes(first, end)]
    sections = [
        Section(max(s.first_bar, first) - first, min(s.end_bar, end) - first, s.label)
        for s in melody.sections
        if s.first_bar < end and s.end_bar > first
    ]
    changes = tuple((b - first, m) for b, m in melody.changes if first < b < end)
    return Melody(melody.meter_at(first), melody.tempo, notes, end - first, sections, changes=changes)


def segment(melody: Melody, first: int, end: int) -> list[int]:
    """Token ids of bars ``[first, end)`` (empty for an empty range)."""
    return [TOKEN_ID[t] for t in encode(window(melody, first, end))] if end > first else []


def build(example: Example, *, use_struct: bool = True) -> Sequences:
    """The sequences of one example; ``use_struct=False`` leaves the structural context out."""
    m = example.melody
    past = segment(m, example.past, example.first)
    future = segment(m, example.end, example.future)
    target = segment(m, example.first, example.end)
    struct = segment(m, example.struct.first_bar, example.struct.end_bar) if use_struct and example.struct else []
    ctx = 0 if struct else -1
    tokens = [TOKEN_ID["BOS"], *past, TOKEN_ID["SEP"], *future, TOKEN_ID["GAP"], *target, TOKEN_ID["EOS"]]
    orders = [PAST] * (1 + len(past)) + [FUTURE] * (1 + len(future)) + [TARGET] * (2 + len(target))
    contexts = [-1] * (2 + len(past) + len(future)) + [ctx] * (2 + len(target))
    return Sequences(tokens, orders, contexts, struct, target_start=3 + len(past) + len(future))
