"""Which tokens may come next in an infill, so that every sample is well formed.

The target of ``n`` bars is ``Bar(n-1) Meter Tempo Struct(X) notes... Bar(n-2) Struct(X)
notes... ... Bar(0) Struct(X) notes... EOS``, where the notes of a bar are ``Position(p)
Pitch(m) Duration(d)`` with positions rising inside the bar (below the length of the bar in
its meter), and a bar whose meter differs from the previous one's has its ``Meter`` after
``Bar``. :class:`TargetGrammar` walks
that shape token by token: where only one token fits (the bar count-down, meter, tempo,
label) it is forced, otherwise the model chooses among the allowed ones. So an infill
always has exactly the requested number of bars, whatever the model prefers.
"""

from __future__ import annotations

from mtk.infill.tokens import MAX_DURATION, PITCHES, TOKEN_ID, Meter, bar_ticks, quantize_tempo

_POSITION0 = TOKEN_ID["Position(0)"]
_PITCHES = [TOKEN_ID[f"Pitch({p})"] for p in PITCHES]
_DURATIONS = [TOKEN_ID[f"Duration({d})"] for d in range(1, MAX_DURATION + 1)]


class TargetGrammar:
    """The allowed next tokens of a target whose bars have ``meters`` (see the module)."""

    def __init__(self, meters: list[Meter], *, tempo: float, label: str, countdown_cap: int = 31) -> None:
        if not meters:
            raise ValueError("an infill has at least one bar")
        self.meters, self.n_bars, self.cap = meters, len(meters), countdown_cap
        self.bar_ticks = bar_ticks(meters[0])
        self.label = TOKEN_ID[f"Struct({label[0]})"]
        header = [self._meter_token(0), TOKEN_ID[f"Tempo({quantize_tempo(tempo)})"]]
        self.pending: list[int] = [self._bar_token(0), *header, self.label]  # forced tokens to come
        self.bars = 1  # bars begun (the first one's Bar token is among the forced ones)
        self.position = -1  # last onset in the current bar
        self.mode = "notes"  # what the model chooses once nothing is forced: notes, pitch, duration, done

    def _meter_token(self, index: int) -> int:
        n, d = self.meters[index]
        return TOKEN_ID[f"Meter({n}/{d})"]

    def bar_line(self) -> int:
        """The token that ends the current bar (the next bar's count-down)."""
        return self._bar_token(self.bars)

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
        else:  # the next bar line, then its meter where it changes, and its label
            bar = self.bars
            self.bars += 1
            self.position = -1
            self.bar_ticks = bar_ticks(self.meters[bar])
            changed = self.meters[bar] != self.meters[bar - 1]
            self.pending = [self._meter_token(bar), self.label] if changed else [self.label]

    @property
    def finished(self) -> bool:
        return self.mode == "done"
