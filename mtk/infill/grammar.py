"""Which tokens may come next in an infill, so that every sample is well formed.

The target of ``n`` bars is ``Bar(n-1) Meter Tempo Struct(X) notes... Bar(n-2) Struct(X)
notes... ... Bar(0) Struct(X) notes... EOS``, where the notes of a bar are ``Position(p)
Pitch(m) Duration(d)`` with positions rising inside the bar. :class:`TargetGrammar` walks
that shape token by token: where only one token fits (the bar count-down, meter, tempo,
label) it is forced, otherwise the model chooses among the allowed ones. So an infill
always has exactly the requested number of bars, whatever the model prefers.
"""

from __future__ import annotations

from mtk.infill.tokens import MAX_DURATION, PITCHES, TOKEN_ID, quantize_tempo

_POSITION0 = TOKEN_ID["Position(0)"]
_PITCHES = [TOKEN_ID[f"Pitch({p})"] for p in PITCHES]
_DURATIONS = [TOKEN_ID[f"Duration({d})"] for d in range(1, MAX_DURATION + 1)]


class TargetGrammar:
    """The allowed next tokens of a target of ``n_bars`` bars (see the module)."""

    def __init__(
        self, n_bars: int, *, meter: tuple[int, int], tempo: float, label: str, bar_ticks: int, countdown_cap: int = 31
    ) -> None:
        if n_bars < 1:
            raise ValueError("an infill has at least one bar")
        self.n_bars, self.bar_ticks, self.cap = n_bars, bar_ticks, countdown_cap
        self.label = TOKEN_ID[f"Struct({label[0]})"]
        header = [TOKEN_ID[f"Meter({meter[0]}/{meter[1]})"], TOKEN_ID[f"Tempo({quantize_tempo(tempo)})"]]
        self.pending: list[int] = [self._bar_token(0), *header, self.label]  # forced tokens to come
        self.bars = 1  # bars begun (the first one's Bar token is among the forced ones)
        self.position = -1  # last onset in the current bar
        self.mode = "notes"  # what the model chooses once nothing is forced: notes, pitch, duration, done

    def _bar_token(self, index: int) -> int:
        return TOKEN_ID[f"Bar({min(self.cap, self.n_bars - 1 - index)})"]

    def allowed(self) -> list[int]:
        """Token ids that may come next (one: it is forced; none after EOS)."""
        if self.mode == "done":
            return []
        if self.pending:
            return [self.pending[0]]
        if self.mode == "pitch":
            return _PITCHES
        if self.mode == "duration":
            return _DURATIONS
        onsets = [_POSITION0 + p for p in range(self.position + 1, self.bar_ticks)]
        return onsets + ([self._bar_token(self.bars)] if self.bars < self.n_bars else [TOKEN_ID["EOS"]])

    def step(self, token: int) -> None:
        """Advance past ``token``; ``ValueError`` if it is not allowed."""
        if token not in self.allowed():
            raise ValueError(f"token {token} is not allowed here")
        if self.pending:
            self.pending.pop(0)
        elif token == TOKEN_ID["EOS"]:
            self.mode = "done"
        elif self.mode == "pitch":
            self.mode = "duration"
        elif self.mode == "duration":
            self.mode = "notes"
        elif _POSITION0 <= token < _POSITION0 + self.bar_ticks:
            self.position, self.mode = token - _POSITION0, "pitch"
        else:  # the next bar line, then its label
            self.bars += 1
            self.position = -1
            self.pending = [self.label]

    @property
    def finished(self) -> bool:
        return self.mode == "done"
