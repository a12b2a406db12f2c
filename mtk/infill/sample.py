"""Sampling an infill: the model proposes, the grammar disposes.

:func:`infill` builds the prompt of an :class:`~mtk.infill.data.Example` (past, future,
``GAP``; the structural context in the encoder), then draws the target token by token
with :class:`~mtk.infill.decode.IncrementalDecoder`: forced tokens are fed without
sampling, free ones are drawn from the model's distribution restricted to what
:class:`~mtk.infill.grammar.TargetGrammar` allows, with a temperature, top-k and nucleus
(top-p) cut. The result has exactly the gap's number of bars.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from mtk.infill.data import Example
from mtk.infill.decode import IncrementalDecoder
from mtk.infill.grammar import TargetGrammar
from mtk.infill.model import InfillTransformer
from mtk.infill.sequence import TARGET, build
from mtk.infill.tokens import VOCAB, Melody, decode


@dataclass(frozen=True)
class Sampling:
    temperature: float = 1.0
    top_k: int = 8  # the seed's code uses top-k 8 with nucleus 0.9
    top_p: float = 0.9


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
    """One sampled infill of ``example``'s target bars (the target's own notes are ignored)."""
    seq = build(example, use_struct=use_struct)
    prompt = slice(0, seq.target_start)
    struct = torch.tensor([seq.struct], dtype=torch.long)
    decoder = IncrementalDecoder(model, struct, torch.zeros_like(struct))
    logits = decoder.feed(seq.tokens[prompt], seq.orders[prompt], seq.contexts[prompt])
    context = seq.contexts[seq.target_start - 1]
    m = example.melody
    grammar = TargetGrammar(
        example.end - example.first,
        meter=m.meter,
        tempo=m.tempo,
        label=example.label,
        bar_ticks=m.bar_ticks,
    )
    out: list[int] = []
    total, sampled = 0.0, 0
    while not grammar.finished:
        allowed = grammar.allowed()
        if len(allowed) == 1:
            token = allowed[0]
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
