"""Sampling an infill: the model proposes, the grammar disposes.

:func:`infill` builds the prompt of an :class:`~mtk.infill.data.Example` (past, future,
``GAP``; the structural context in the encoder), then draws the target token by token
with :class:`~mtk.infill.decode.IncrementalDecoder`: forced tokens are fed without
sampling, free ones are drawn from the model's distribution restricted to what
:class:`~mtk.infill.grammar.TargetGrammar` allows, with a temperature, top-k and nucleus
(top-p) cut. The result has exactly the gap's number of bars.

Closeness (mtk's addition, a copy-aware decoding): a product of the model's distribution and
a copy expert. :class:`CopyPrior` reads the reference section bar for bar (its bars aligned with
the gap's by :func:`~mtk.infill.data.reference_bars`, so that a pickup bar in the reference does
not shift the copy by a bar) and names, at each
free choice, the token that copying it would take there (the next onset of the aligned
reference bar, or its bar line when the bar has no more; the pitch and duration of the
reference note at the chosen onset); its logit is raised by ``closeness`` (natural log
units). 0 is the model alone; a large value copies the reference wherever the grammar allows;
in between, the model departs from the reference only where it is confident that the context
asks for it (a cadence, another ending, an upbeat into what follows).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from mtk.infill.data import Example, reference_bars
from mtk.infill.decode import IncrementalDecoder
from mtk.infill.grammar import TargetGrammar
from mtk.infill.model import InfillTransformer
from mtk.infill.sequence import TARGET, build, window
from mtk.infill.tokens import TOKEN_ID, VOCAB, Melody, decode


@dataclass(frozen=True)
class Sampling:
    temperature: float = 1.0
    top_k: int = 8  # the seed's code uses top-k 8 with nucleus 0.9
    top_p: float = 0.9
    closeness: float = 0.0  # log-boost of the token that copies the reference (CopyPrior)


class CopyPrior:
    """The token that copying ``reference`` (a melody from bar 0) would take next, bar ``i``
    of the infill aligned with bar ``i`` of the reference (none past its end)."""

    def __init__(self, reference: Melody) -> None:
        self.bars: list[dict[int, tuple[int, int]]] = [{} for _ in range(reference.n_bars)]
        for n in reference.notes:
            bar = reference.bar_of(n.start)
            if 0 <= bar < reference.n_bars:
                self.bars[bar][n.start - reference.bar_start(bar)] = (n.pitch, n.duration)

    def token(self, grammar: TargetGrammar) -> int | None:
        bar = grammar.bars - 1
        if bar >= len(self.bars) or grammar.pending:
            return None
        notes = self.bars[bar]
        if grammar.mode == "notes":
            later = [p for p in notes if grammar.position < p < grammar.bar_ticks]
            if later:
                return TOKEN_ID[f"Position({min(later)})"]
            return TOKEN_ID["EOS"] if grammar.bars == grammar.n_bars else grammar.bar_line()
        if grammar.position not in notes:
            return None  # an onset the reference does not have: the model alone
        pitch, duration = notes[grammar.position]
        if grammar.mode == "pitch":
            return TOKEN_ID[f"Pitch({pitch})"]
        return TOKEN_ID[f"Duration({duration})"] if grammar.mode == "duration" else None


@dataclass
class Infill:
    melody: Melody  # the gap's bars, from bar 0
    log_likelihood: float  # of the sampled (not forced) tokens under the model
    tokens: list[str]
    sampled: int  # how many tokens were sampled (not forced)


def choose(logits: torch.Tensor, allowed: list[int], sampling: Sampling, rng: np.random.Generator) -> tuple[int, float]:
    """One token among ``allowed``: ``(id, its log-probability among them at temperature 1)``."""
    sub = logits[allowed].double()
    logp = torch.log_softmax(sub, dim=0)
    scores = torch.log_softmax(sub / max(sampling.temperature, 1e-6), dim=0)
    order = torch.argsort(scores, descending=True)
    keep = order[: max(1, sampling.top_k)] if sampling.top_k > 0 else order
    probs = scores[keep].exp()
    probs = probs / probs.sum()
    cumulative = probs.cumsum(0)
    cut = int((cumulative < sampling.top_p).sum()) + 1  # the smallest set reaching top_p
    keep, probs = keep[:cut], probs[:cut] / probs[:cut].sum()
    pick = int(keep[int(rng.choice(len(keep), p=probs.numpy()))])
    return allowed[pick], float(logp[pick])


@torch.no_grad()
def infill(
    model: InfillTransformer,
    example: Example,
    *,
    sampling: Sampling = Sampling(),
    rng: np.random.Generator,
    use_struct: bool = True,
) -> Infill:
    """One sampled infill of ``example``'s target bars (the target's own notes are ignored);
    ``sampling.closeness`` draws it towards the structural reference (:class:`CopyPrior`)."""
    seq = build(example, use_struct=use_struct)
    prompt = slice(0, seq.target_start)
    struct = torch.tensor([seq.struct], dtype=torch.long)
    decoder = IncrementalDecoder(model, struct, torch.zeros_like(struct))
    logits = decoder.feed(seq.tokens[prompt], seq.orders[prompt], seq.contexts[prompt])
    context = seq.contexts[seq.target_start - 1]
    m = example.melody
    grammar = TargetGrammar(
        [m.meter_at(b) for b in range(example.first, example.end)], tempo=m.tempo, label=example.label
    )
    struct = example.struct if use_struct else None
    prior = CopyPrior(window(m, *reference_bars(example))) if struct and sampling.closeness else None
    out: list[int] = []
    total, sampled = 0.0, 0
    while not grammar.finished:
        allowed = grammar.allowed()
        if len(allowed) == 1:
            token = allowed[0]
        else:
            copy = prior.token(grammar) if prior is not None else None
            if copy is not None and copy in allowed:
                drawn = logits.clone()
                drawn[copy] += sampling.closeness
                token, _ = choose(drawn, allowed, sampling, rng)
                logp = float(torch.log_softmax(logits[allowed].double(), dim=0)[allowed.index(token)])
            else:
                token, logp = choose(logits, allowed, sampling, rng)
            total += logp
            sampled += 1
        grammar.step(token)
        out.append(token)
        if not grammar.finished:
            logits = decoder.feed([token], [TARGET], [context])
    words = [VOCAB[t] for t in out]
    return Infill(decode(words), total, words, sampled)
