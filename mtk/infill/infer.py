"""Infilling a user's melody: choose the gap and its structural reference, sample, rank.

:func:`plan` turns a melody, a gap and a reference (each optional) into the model's
:class:`~mtk.infill.data.Example`, labelling sections as in training: the structure
analysis (:func:`mtk.infill.structure.analyze`) labels the bars outside the gap, the
reference becomes a section of its own and the gap takes the reference's letter, as a
repeat takes its first occurrence's letter in the training data. :class:`Infiller` draws
``n`` samples (:func:`mtk.infill.sample.infill`) and ranks them by model likelihood and
similarity to the reference.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from mtk.errors import InputError
from mtk.infill.data import CONTEXT_BARS, Example
from mtk.infill.structure import analyze, similarity
from mtk.infill.tokens import LABELS, Melody, Section

TASK = "infill"
DEFAULT_MODEL = "infill-structformer-v2"
MAX_GAP_BARS = 8  # the model is trained on gaps of up to 5 bars; the grammar holds any length
# --closeness levels: the copy expert's log-boost (mtk.infill.sample.CopyPrior). DEFAULT is
# the value closest to composers' variations on the validation split (the model card's sweep).
CLOSENESS = {"low": 0.0, "default": 3.0, "high": 6.0}


def closeness_value(spec: str | float) -> float:
    """A ``--closeness`` level (low, default, high) or a number from 0 to 50, as a log-boost;
    ``ValueError`` otherwise."""
    if isinstance(spec, (int, float)):
        value = float(spec)
    elif spec.strip().lower() in CLOSENESS:
        return CLOSENESS[spec.strip().lower()]
    else:
        try:
            value = float(spec)
        except ValueError:
            raise ValueError(f"closeness {spec}: expected low, default, high or a number from 0 to 50") from None
    if not 0.0 <= value <= 50.0:
        raise ValueError(f"closeness {spec}: expected low, default, high or a number from 0 to 50")
    return value


@dataclass
class Plan:
    example: Example
    how: str  # how the reference was chosen: given, analysis, none


def _carve(sections: list[Section], first: int, end: int) -> list[Section]:
    """``sections`` with bars ``[first, end)`` cut out of them."""
    out = []
    for s in sections:
        if s.end_bar <= first or s.first_bar >= end:
            out.append(s)
            continue
        if s.first_bar < first:
            out.append(Section(s.first_bar, first, s.label))
        if s.end_bar > end:
            out.append(Section(end, s.end_bar, s.label))
    return out


def auto_gap(melody: Melody) -> tuple[int, int]:
    """The first section (of at most :data:`MAX_GAP_BARS` bars) whose label repeats an
    earlier one's letter, by structure analysis."""
    sections = analyze(melody)
    for i, s in enumerate(sections):
        if i and s.n_bars <= MAX_GAP_BARS and any(p.label[0] == s.label[0] for p in sections[:i]):
            return s.first_bar, s.end_bar
    raise InputError("no section repeats an earlier one (structure analysis): name the gap with --gap")


def plan(melody: Melody, gap: tuple[int, int], reference: tuple[int, int] | None | str = "auto") -> Plan:
    """The example of infilling bars ``gap = (first, end)`` of ``melody``, shaped by bars
    ``reference``; ``"auto"`` lets the structure analysis choose (the first earlier section
    with the letter the gap's own notes get, else the first section of the gap's length),
    ``None`` infills without one."""
    first, end = gap
    if not 0 <= first < end <= melody.n_bars:
        raise InputError(f"the gap must lie within the melody's {melody.n_bars} bars")
    if end - first > MAX_GAP_BARS:
        raise InputError(f"a gap of {end - first} bars is longer than {MAX_GAP_BARS}")
    how = "given"
    if reference == "auto":
        how = "analysis"
        reference = _reference_of(melody, first, end)
    if isinstance(reference, tuple):
        r0, r1 = reference
        if not 0 <= r0 < r1 <= melody.n_bars:
            raise InputError(f"the reference must lie within the melody's {melody.n_bars} bars")
        if r0 < end and first < r1:
            raise InputError("the reference overlaps the gap")
    blank = replace(melody, notes=[n for n in melody.notes if not first <= melody.bar_of(n.start) < end], sections=[])
    sections = _carve(analyze(blank), first, end)
    used = {s.label[0] for s in sections}
    struct = None
    if isinstance(reference, tuple):
        letter = next((s.label[0] for s in sections if s.first_bar <= reference[0] < s.end_bar), LABELS[0])
        struct = Section(reference[0], reference[1], letter)
        sections = [*_carve(sections, *reference), struct]
        label = letter
    else:
        how = "none"
        label = next((x for x in LABELS if x not in used), LABELS[-1])  # new material
    sections = sorted([*sections, Section(first, end, label)], key=lambda s: s.first_bar)
    labelled = replace(melody, sections=sections)
    example = Example(
        labelled, max(0, first - CONTEXT_BARS), first, end, min(melody.n_bars, end + CONTEXT_BARS), struct
    )
    return Plan(example, how)


def _reference_of(melody: Melody, first: int, end: int) -> tuple[int, int] | None:
    sections = analyze(melody)
    gap_notes = melody.bar_notes(first, end)
    here = next((s for s in sections if s.first_bar == first and s.end_bar == end), None)
    if gap_notes and here is not None:
        earlier = next((s for s in sections if s.first_bar < first and s.label[0] == here.label[0]), None)
        if earlier is not None:
            return earlier.first_bar, earlier.end_bar
    same = [s for s in sections if s.n_bars == end - first and (s.end_bar <= first or s.first_bar >= end)]
    if same:
        return same[0].first_bar, same[0].end_bar
    return None


@dataclass
class Candidate:
    melody: Melody  # the gap's bars, from bar 0
    log_likelihood: float
    tokens_sampled: int
    similarity: float | None  # pitch alignment with the reference
    seed_index: int

    @property
    def mean_log_likelihood(self) -> float:
        return self.log_likelihood / max(1, self.tokens_sampled)

    def to_dict(self) -> dict[str, Any]:
        return {
            "sample": self.seed_index,
            "notes": len(self.melody.notes),
            "log_likelihood": round(self.log_likelihood, 3),
            "mean_log_likelihood": round(self.mean_log_likelihood, 4),
            "similarity": None if self.similarity is None else round(self.similarity, 4),
        }


def rank(candidates: list[Candidate]) -> list[Candidate]:
    """Best first: the sum of each candidate's rank by mean token log-likelihood and by
    similarity to the reference (likelihood alone without a reference), ties by likelihood."""
    by_ll = sorted(range(len(candidates)), key=lambda i: -candidates[i].mean_log_likelihood)
    score = {i: r for r, i in enumerate(by_ll)}
    if all(c.similarity is not None for c in candidates):
        by_sim = sorted(range(len(candidates)), key=lambda i: -(candidates[i].similarity or 0.0))
        for r, i in enumerate(by_sim):
            score[i] += r
    order = sorted(range(len(candidates)), key=lambda i: (score[i], -candidates[i].mean_log_likelihood))
    return [candidates[i] for i in order]


class Infiller:
    """A loaded model and how to sample from it."""

    def __init__(self, model: Any, *, name: str, device: str = "cpu") -> None:
        self.model = model.to(device).eval()
        self.name = name
        self.device = device

    def sample(
        self,
        example: Example,
        *,
        n: int = 1,
        seed: int = 0,
        temperature: float = 1.0,
        top_k: int = 8,
        top_p: float = 0.9,
        closeness: float | None = None,
        use_struct: bool = True,
    ) -> list[Candidate]:
        """``n`` infills of ``example``, ranked (:func:`rank`); sample ``i`` is drawn from
        seed ``[seed, i]``, so it is the same whatever ``n``. ``closeness`` (default:
        ``CLOSENESS["default"]``) draws them towards the reference."""
        import torch

        from mtk.infill.sample import Sampling, infill

        boost = CLOSENESS["default"] if closeness is None else closeness
        sampling = Sampling(temperature=temperature, top_k=top_k, top_p=top_p, closeness=boost)
        struct = example.struct if use_struct else None
        ref = [x.pitch for x in example.melody.bar_notes(struct.first_bar, struct.end_bar)] if struct else None
        out = []
        with torch.inference_mode():
            for i in range(n):
                result = infill(
                    self.model, example, sampling=sampling, rng=np.random.default_rng([seed, i]), use_struct=use_struct
                )
                sim = similarity([x.pitch for x in result.melody.notes], ref) if ref is not None else None
                out.append(Candidate(result.melody, result.log_likelihood, result.sampled, sim, i))
        return rank(out)


def load(name_or_path: str | None = None, device: str = "cpu") -> Infiller:
    """An :class:`Infiller` from a registry name (default :data:`DEFAULT_MODEL`) or a file."""
    import torch

    from mtk.infill.model import InfillConfig, InfillTransformer, over_vocabulary
    from mtk.infill.tokens import VOCAB
    from mtk.infill.train import ARCH
    from mtk.weights.checkpoint import build_module, load_checkpoint
    from mtk.weights.registry import check_task, get_entry
    from mtk.weights.store import looks_like_path, resolve

    name = name_or_path or DEFAULT_MODEL
    if not looks_like_path(name) and get_entry(name).debug:
        entry = check_task(get_entry(name), TASK)
        torch.manual_seed(entry.seed)
        model = InfillTransformer(build_module(InfillConfig, {"vocab": len(VOCAB), **entry.config}))
        return Infiller(model, name=entry.name, device=device)
    resolved = resolve(name, task=TASK)
    config, state = over_vocabulary(load_checkpoint(resolved.path, arch=ARCH), VOCAB)
    model = InfillTransformer(build_module(InfillConfig, config))
    model.load_state_dict(state)
    return Infiller(model, name=resolved.name, device=device)
