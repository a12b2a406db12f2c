"""mtk infill end to end on the debug model: planning, exact bars, untouched context, seeds."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from pathlib import Path

import mido
import pytest
from typer.testing import CliRunner

from mtk.cli.main import app
from mtk.errors import InputError
from mtk.infill.infer import CLOSENESS, Candidate, auto_gap, load, plan, rank
from mtk.infill.score import to_midi
from mtk.infill.scorefile import read_score
from mtk.infill.tokens import Melody, Note
from mtk.io.records import dumps
from tests.conftest import run_mtk

runner = CliRunner()
A = [60, 62, 64, 65, 67, 65, 64, 62, 60, 64, 67, 72, 67, 64, 62, 60]
B = [69, 69, 67, 67, 65, 65, 64, 64, 62, 64, 65, 67, 69, 71, 72, 67]


def aaba(gap_notes: bool = True) -> Melody:
    """16 bars of 4/4 quarter notes, phrases A A B A (the last A left empty without ``gap_notes``)."""
    pitches = A + A + B + (A if gap_notes else [])
    return Melody((4, 4), 100.0, [Note(p, 12 * i, 12) for i, p in enumerate(pitches)], 16)


def aaba_file(tmp_path: Path) -> Path:
    path = tmp_path / "aaba.mid"
    to_midi(aaba()).dump(str(path))
    return path


def test_plan_labels_the_gap_with_its_reference_letter() -> None:
    melody = aaba()
    assert auto_gap(melody) == (4, 8)  # the first section repeating an earlier one
    p = plan(melody, (12, 16), (0, 4))
    ex = p.example
    assert (ex.past, ex.first, ex.end, ex.future, p.how) == (6, 12, 16, 16, "given")
    assert ex.struct is not None and (ex.struct.first_bar, ex.struct.end_bar) == (0, 4)
    assert ex.melody.label_of(12)[0] == ex.struct.label[0] == ex.melody.label_of(0)[0]
    auto = plan(melody, (12, 16))  # the gap's notes repeat bars 1-4: the analysis names them
    assert auto.how == "analysis" and (auto.example.struct.first_bar, auto.example.struct.end_bar) == (0, 4)
    empty = plan(aaba(gap_notes=False), (12, 16))  # nothing to analyse: the first section as long as the gap
    assert (empty.example.struct.first_bar, empty.example.struct.end_bar) == (0, 4)
    none = plan(melody, (12, 16), None)
    assert none.example.struct is None and none.how == "none"
    assert none.example.melody.label_of(12) not in {none.example.melody.label_of(b) for b in range(12)}
    with pytest.raises(InputError, match="overlaps the gap"):
        plan(melody, (8, 12), (10, 14))


def test_rank_sums_likelihood_and_similarity_ranks() -> None:
    m = aaba()
    c = [Candidate(m, -10.0, 10, s, i) for i, s in enumerate((0.1, 0.9, 0.95, 0.0))]
    c[1].log_likelihood, c[2].log_likelihood, c[3].log_likelihood = -20.0, -11.0, -30.0
    assert [x.seed_index for x in rank(c)] == [2, 0, 1, 3]  # rank sums 1, 2, 3, 6
    c[2].similarity = 0.5  # now samples 0, 1 and 2 tie at 2 + 0 + ...: likelihood decides
    assert [x.seed_index for x in rank(c)][:2] == [0, 2]
    c = [Candidate(m, -30.0, 10, None, 0), Candidate(m, -10.0, 10, None, 1)]
    assert [x.seed_index for x in rank(c)] == [1, 0]


def test_samples_have_exactly_the_gaps_bars_and_seed_i_is_the_same_whatever_n() -> None:
    infiller = load("infill-debug")
    ex = plan(aaba(), (8, 13), (0, 4)).example  # a 5-bar gap from a 4-bar reference
    three = infiller.sample(ex, n=3, seed=7)
    assert all(c.melody.n_bars == 5 for c in three)
    one = infiller.sample(ex, n=1, seed=7)[0]
    same = next(c for c in three if c.seed_index == 0)
    assert one.melody.notes == same.melody.notes and one.log_likelihood == same.log_likelihood


def test_closeness_orders_infills_by_similarity_to_the_reference() -> None:
    from mtk.infill.structure import similarity

    infiller = load("infill-debug")  # random weights: what it writes alone is far from A
    ex = plan(aaba(), (12, 16), (0, 4)).example
    mean = {}
    for closeness in (0.0, 3.0, 50.0):
        samples = [infiller.sample(ex, seed=s, closeness=closeness)[0] for s in range(4)]
        assert all(c.melody.n_bars == 4 for c in samples)
        mean[closeness] = sum(c.similarity for c in samples) / len(samples)
    assert mean[0.0] < mean[3.0] < mean[50.0] == 1.0  # a large boost copies A note for note
    copied = infiller.sample(ex, seed=0, closeness=50.0)[0].melody.notes
    assert [(n.pitch, n.start, n.duration) for n in copied] == [(p, 12 * i, 12) for i, p in enumerate(A)]
    assert similarity([n.pitch for n in copied], A) == 1.0


def test_a_gap_in_five_eight_and_across_a_meter_change_gets_exactly_its_bars() -> None:
    infiller = load("infill-debug")
    tune = Melody((5, 8), 100.0, [Note(60 + i % 7, 6 * i, 6) for i in range(80)], 16)  # 5 eighths a bar
    ex = plan(tune, (8, 12), (0, 4)).example
    for c in infiller.sample(ex, n=3, seed=1):
        assert c.melody.n_bars == 4 and c.melody.meter == (5, 8)
        assert all(n.start < 4 * 30 for n in c.melody.notes)
    changing = Melody((2, 4), 100.0, [Note(60 + i % 5, 12 * i, 12) for i in range(40)], 16, changes=((10, (3, 4)),))
    ex = plan(changing, (8, 12), (0, 4)).example  # bars 9-10 in 2/4, 11-12 in 3/4
    c = infiller.sample(ex, seed=2)[0]
    assert c.melody.meters() == [(2, 4), (2, 4), (3, 4), (3, 4)]
    assert all(n.start < 2 * 24 + 2 * 36 for n in c.melody.notes)


def test_cli_fills_the_gap_and_leaves_the_rest_unchanged(tmp_path: Path) -> None:
    src = aaba_file(tmp_path)
    out = tmp_path / "out.mid"
    args = ["infill", str(src), "--model", "infill-debug", "--gap", "9-12", "--struct-from", "1-4", "--seed", "5"]
    result = runner.invoke(app, [*args, "-o", str(out), "-n", "3", "--keep-all", str(tmp_path / "all")])
    assert result.exit_code == 0, result.stderr
    record = json.loads(result.stdout)
    assert result.stdout == dumps(record) + "\n"  # compact JSON Lines, as every command (issue 31)
    assert record["gap"] == [9, 12] and record["reference"] == [1, 4] and record["reference_by"] == "given"
    assert record["seed"] == 5 and record["model"] == "infill-debug" and len(record["samples"]) == 3
    assert len(record["kept"]) == 3 and all(Path(p).is_file() for p in record["kept"])
    before, after = mido.MidiFile(str(src)), mido.MidiFile(str(out))
    bar = 4 * before.ticks_per_beat

    def notes(midi: mido.MidiFile) -> list[tuple[int, int]]:
        now, got = 0, []
        for m in midi.tracks[record["track"]["track"] - 1]:
            now += m.time
            if m.type == "note_on" and m.velocity:
                got.append((now, m.note))
        return got

    outside = [n for n in notes(before) if not 8 * bar <= n[0] < 12 * bar]
    assert len(outside) == 48
    assert [n for n in notes(after) if not 8 * bar <= n[0] < 12 * bar] == outside
    assert len([n for n in notes(after) if 8 * bar <= n[0] < 12 * bar]) == record["notes"]
    assert list(after.tracks[0]) == list(before.tracks[0])  # tempo, meter, markers
    assert [m for m in after.tracks[1] if m.is_meta] == [m for m in before.tracks[1] if m.is_meta]
    # The same seed gives the same bytes; the existing output is not overwritten.
    again = runner.invoke(app, [*args, "-o", str(out), "-n", "3"])
    assert again.exit_code == 2 and "exists" in again.stderr
    again = runner.invoke(app, [*args, "-o", str(tmp_path / "again.mid"), "-n", "3"])
    assert (tmp_path / "again.mid").read_bytes() == out.read_bytes()


def test_the_records_sections_are_the_inputs_whatever_the_gap(tmp_path: Path) -> None:
    """Issue 31: the record's labels came from the melody with the gap blanked and its
    reference's letter, so a section repeating bars 5-8 got another label by --gap."""
    src = aaba_file(tmp_path)
    sections = []
    for gap in ("5-8", "9-12", "13-16"):
        args = [
            "infill",
            str(src),
            "--model",
            "infill-debug",
            "--gap",
            gap,
            "--seed",
            "1",
            "-o",
            str(tmp_path / "o.mid"),
        ]
        result = runner.invoke(app, [*args, "--force"])
        assert result.exit_code == 0, result.stderr
        sections.append(json.loads(result.stdout)["sections"])
    assert sections[0] == sections[1] == sections[2] == [[1, 4, "A"], [5, 8, "A"], [9, 12, "B"], [13, 16, "A"]]


def test_cli_reads_stdin_and_reports_an_automatic_gap(tmp_path: Path) -> None:
    proc = run_mtk("infill", "--model", "infill-debug", "--seed", "1", input=aaba_file(tmp_path).read_bytes())
    assert proc.returncode == 0, proc.stderr
    record = json.loads(proc.stderr.decode().strip().splitlines()[-1])
    assert record["gap"] == [5, 8] and record["reference"] == [1, 4] and record["reference_by"] == "analysis"
    assert mido.MidiFile(file=io.BytesIO(proc.stdout)).tracks
    assert record["closeness"] == CLOSENESS["default"] and record["meter_changes"] == []


def test_cli_takes_sections_from_the_scores_double_bars(tmp_path: Path) -> None:
    """Two 6-bar strains split by a double bar: the second repeats the first, which the
    4-bar phrase grid alone would not see."""
    strain = "CDEF|GABc|dcBA|GFED|CEGc|BGEC"
    src = tmp_path / "strains.abc"
    src.write_text(f"X:1\nT:Strains\nM:4/4\nL:1/4\nK:C\n{strain}||{strain}|]\n")
    result = runner.invoke(
        app, ["infill", str(src), "--model", "infill-debug", "--seed", "2", "-o", str(tmp_path / "o.mid")]
    )
    assert result.exit_code == 0, result.stderr
    record = json.loads(result.stdout)
    assert record["score_marks"] == [7]
    assert record["gap"] == [7, 12] and record["reference"] == [1, 6] and record["reference_by"] == "analysis"
    assert record["sections"] == [[1, 6, "A"], [7, 12, "A"]]
    score = read_score(src.read_bytes(), name=str(src), suffix=".abc")
    unmarked = replace(score.melody(score.line()), marks=())
    with pytest.raises(InputError, match="no section repeats"):  # phrases 1-4, 5-8, 9-12 all differ
        auto_gap(unmarked)


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (["--gap", "12-9"], "the last bar comes before the first"),
        (["--gap", "15-18"], "the melody has bars 1 to 16"),
        (["--gap", "nine"], "expected bars such as 9-12"),
        (["--gap", "9-12", "--struct-from", "11-14"], "overlaps the gap"),
        (["--track", "7"], "no melodic track '7'"),
        (["--closeness", "near"], "--closeness near: expected low, default, high or a number from 0 to 50"),
        (["--closeness", "-1"], "--closeness -1: expected low"),
    ],
)
def test_cli_bad_requests_are_one_line_exit_2(tmp_path: Path, option: list[str], message: str) -> None:
    out = tmp_path / "o.mid"
    result = runner.invoke(
        app, ["infill", str(aaba_file(tmp_path)), "--model", "infill-debug", *option, "-o", str(out)]
    )
    assert result.exit_code == 2 and message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not out.exists()
