"""``mtk infill``: a melody with a gap in, the gap filled out in the image of a reference section."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from mtk.cli import common
from mtk.cli.options import Device, Force, Model, Output, Quiet, Seed, Verbose
from mtk.errors import UsageError
from mtk.io.records import dumps

app = typer.Typer(add_completion=False)

EPILOG = """Examples:
  mtk infill tune.mid --gap 9-12 --struct-from 1-4 -o out.mid
  mtk infill tune.abc -o out.mid                      # the repeated section, reference by analysis
  cat tune.mid | mtk infill --gap 5-8 -n 8 --seed 1 > out.mid
  mtk infill tune.musicxml --gap 13-16 --struct-from none -o out.mid
  mtk infill tune.mid --gap 9-12 -n 4 --keep-all samples/ -o best.mid
"""
HELP = (
    "Fill a gap of bars in a melody, shaped by a reference section (structure-aware Transformer).\n\n"
    "Input is MIDI, MusicXML or ABC (a path or stdin); output is MIDI with everything outside the gap kept as it "
    "was (other tracks, tempo, meter, key, the melody's other bars) and exactly the gap's number of bars filled. "
    "Bars are numbered from 1 as a musician counts them (a pickup bar of a MusicXML or ABC score is bar 0). The "
    "melody is the highest monophonic track unless --track names one. With -n N the samples are ranked by model "
    "likelihood and similarity to the reference and the best is written. Sections are the score's own where it "
    "marks them (double bars, repeat signs and rehearsal marks of MusicXML and ABC, MIDI markers), cut into "
    "phrases and labelled A, A', B ... by self-similarity. One JSON record says what was chosen (track, gap, "
    "reference and how it was chosen, sections, seed, each sample's scores): on stdout with -o FILE, on stderr "
    "when the MIDI goes to stdout."
)
RANGE = re.compile(r"^\s*(\d+)\s*(?:-\s*(\d+))?\s*$")


def parse_bars(value: str, option: str) -> tuple[int, int]:
    """``"9-12"`` or ``"9"`` -> ``(9, 12)``: bar numbers as given, inclusive."""
    match = RANGE.match(value)
    if not match:
        raise UsageError(f"{option} {value}: expected bars such as 9-12")
    first, last = int(match[1]), int(match[2] or match[1])
    if last < first:
        raise UsageError(f"{option} {value}: the last bar comes before the first")
    return first, last


@app.command(help=HELP, epilog=EPILOG)
def infill(
    source: Annotated[
        Optional[str],
        typer.Argument(metavar="INPUT", help="MIDI, MusicXML or ABC file, or '-' for stdin.", show_default=False),
    ] = None,
    output: Output = None,
    gap: Annotated[str, typer.Option("--gap", metavar="BARS|auto", help="Bars to fill, e.g. 9-12.")] = "auto",
    struct_from: Annotated[
        str,
        typer.Option(
            "--struct-from", metavar="BARS|auto|none", help="The reference section, e.g. 1-4 (auto: by analysis)."
        ),
    ] = "auto",
    track: Annotated[
        Optional[str],
        typer.Option("--track", metavar="N|NAME", help="Melody track (numbered from 1, or its name)."),
    ] = None,
    samples: Annotated[int, typer.Option("-n", "--samples", min=1, max=64, help="Samples to draw and rank.")] = 1,
    temperature: Annotated[float, typer.Option("--temperature", min=0.0, help="Sampling temperature.")] = 1.0,
    top_k: Annotated[int, typer.Option("--top-k", min=0, help="Keep the k likeliest tokens (0: all).")] = 8,
    top_p: Annotated[float, typer.Option("--top-p", min=0.0, max=1.0, help="Nucleus: keep this much mass.")] = 0.9,
    closeness: Annotated[
        str,
        typer.Option(
            "--closeness",
            metavar="low|default|high|N",
            help="How close to the reference: low (the model alone), default, high (near a copy) or a boost 0-50.",
        ),
    ] = "default",
    keep_all: Annotated[
        Optional[str],
        typer.Option("--keep-all", metavar="DIR", help="Also write every sample (ranked) to DIR."),
    ] = None,
    seed: Seed = None,
    model: Model = None,
    device: Device = "auto",
    force: Force = False,
    quiet: Quiet = False,
    verbose: Verbose = False,
) -> None:
    import secrets
    import sys

    from mtk.device import resolve_device
    from mtk.infill.infer import auto_gap, closeness_value, load, plan
    from mtk.infill.scorefile import read_score
    from mtk.infill.structure import analyze
    from mtk.io.files import STDIO, atomic_write, check_writable, read_bytes, write_stdout

    if source is None:
        if sys.stdin is None or sys.stdin.isatty():
            raise UsageError("no input", hint="name a MIDI, MusicXML or ABC file, or pipe one in")
        source = STDIO
    gap_bars = None if gap.strip() == "auto" else parse_bars(gap, "--gap")
    ref_spec = struct_from.strip()
    ref_bars = None if ref_spec in ("auto", "none") else parse_bars(struct_from, "--struct-from")
    target = common.binary_target(output, kind="MIDI")
    if target != STDIO:
        check_writable(target, force=force)
    folder = Path(keep_all) if keep_all else None
    if folder is not None and folder.exists() and not folder.is_dir():
        raise UsageError(f"--keep-all {keep_all}: not a folder")
    seed = secrets.randbelow(2**31) if seed is None else seed
    try:
        boost = closeness_value(closeness)
    except ValueError as exc:
        raise UsageError(f"--{exc}") from None

    score = read_score(read_bytes(source), name=source, suffix=Path(source).suffix if source != STDIO else "")
    line = score.line(track)
    melody = score.melody(line)

    def index_range(bars: tuple[int, int], option: str) -> tuple[int, int]:
        first, end = score.bar_index(bars[0]), score.bar_index(bars[1]) + 1
        if first < 0 or end > melody.n_bars:
            last = score.bar_number(melody.n_bars - 1)
            raise UsageError(f"{option} {bars[0]}-{bars[1]}: the melody has bars {score.first_number} to {last}")
        return first, end

    first, end = index_range(gap_bars, "--gap") if gap_bars else auto_gap(melody)
    reference: Any = ref_spec if ref_spec == "auto" else None
    if ref_bars is not None:
        reference = index_range(ref_bars, "--struct-from")
    chosen = plan(melody, (first, end), reference)
    infiller = load(model, resolve_device(device))
    ranked = infiller.sample(
        chosen.example, n=samples, seed=seed, temperature=temperature, top_k=top_k, top_p=top_p, closeness=boost
    )
    best = ranked[0]
    data = score.with_notes(line, first, end, best.melody.notes)
    kept = []
    if folder is not None:
        stem = Path(source).stem if source != STDIO else "stdin"
        kept = [str(folder / f"{stem}.rank{r}.sample{c.seed_index}.mid") for r, c in enumerate(ranked, start=1)]
        for path in kept:  # all or nothing
            check_writable(path, force=force)
        for path, cand in zip(kept, ranked, strict=True):
            atomic_write(path, score.with_notes(line, first, end, cand.melody.notes), force=force)
    if target == STDIO:
        write_stdout(data)
    else:
        atomic_write(target, data, force=force)
    struct = chosen.example.struct
    record = {
        "input": source,
        "output": target,
        "model": infiller.name,
        "seed": seed,
        "track": line.describe(),
        "meter": f"{melody.meter[0]}/{melody.meter[1]}",
        "meter_changes": [[score.bar_number(b), f"{n}/{d}"] for b, (n, d) in melody.changes],
        "closeness": boost,
        "gap": [score.bar_number(first), score.bar_number(end - 1)],
        "reference": [score.bar_number(struct.first_bar), score.bar_number(struct.end_bar - 1)] if struct else None,
        "reference_by": chosen.how,
        "sections": [  # the input's own structure: the same whatever --gap and --struct-from
            [score.bar_number(s.first_bar), score.bar_number(s.end_bar - 1), s.label] for s in analyze(melody)
        ],
        "score_marks": [score.bar_number(b) for b in melody.marks],
        **({"repeats": score.repeats} if score.repeats else {}),
        "notes": len(best.melody.notes),
        "samples": [c.to_dict() for c in ranked],
    }
    if kept:
        record["kept"] = kept
    if target == STDIO:
        if not quiet:
            print(dumps(record), file=sys.stderr)
    else:
        print(dumps(record))
