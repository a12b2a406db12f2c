"""Pair generation obeys the paper's associations and exclusions; catalogue CSV validation."""

from __future__ import annotations

from pathlib import Path

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given, settings

from mtk.embed.associations import ASSOCIATIONS, Entry, associated, epoch_pairs, parse_catalogue
from mtk.errors import InputError

NAMES = st.frozensets(st.sampled_from("abcde"), max_size=2)


@st.composite
def catalogues(draw: st.DrawFn) -> list[Entry]:
    n = draw(st.integers(0, 30))
    return [Entry(f"{i}.wav", f"t{draw(st.integers(0, 25))}", draw(NAMES), draw(NAMES), draw(NAMES)) for i in range(n)]


@settings(max_examples=200, deadline=None, derandomize=True)
@given(catalogues(), st.sampled_from(ASSOCIATIONS), st.integers(0, 2**16))
def test_pairs_obey_the_association_and_use_each_recording_once(entries: list[Entry], kind: str, seed: int) -> None:
    pairs = epoch_pairs(entries, kind, np.random.default_rng(seed))
    for a, b in pairs:
        assert associated(kind, entries[a], entries[b])
        if kind == "artist":
            assert not entries[a].releases & entries[b].releases  # never shares a release
        if kind == "label":
            assert not entries[a].artists & entries[b].artists  # never shares an artist
    if kind == "track":
        assert sorted(a for a, _ in pairs) == list(range(len(entries))) and all(a == b for a, b in pairs)
    else:
        used = [i for pair in pairs for i in pair]
        assert len(used) == len(set(used)) and all(a != b for a, b in pairs)
        unpaired = set(range(len(entries))) - set(used)  # the pool ran dry for them: no partner left
        for a in unpaired:
            assert not any(associated(kind, entries[a], entries[b]) for b in unpaired if b != a)


def test_the_exclusions_on_a_known_catalogue() -> None:
    e = [
        Entry("0", "t0", frozenset({"r1"}), frozenset({"A"}), frozenset({"L"})),
        Entry("1", "t1", frozenset({"r1"}), frozenset({"A"}), frozenset({"L"})),  # same release as 0
        Entry("2", "t2", frozenset({"r2"}), frozenset({"A"}), frozenset({"L"})),  # same artist, other release
        Entry("3", "t3", frozenset({"r3"}), frozenset({"B"}), frozenset({"L"})),  # same label, other artist
    ]
    assert associated("release", e[0], e[1]) and not associated("artist", e[0], e[1])
    assert associated("artist", e[0], e[2]) and not associated("release", e[0], e[2])
    assert associated("label", e[0], e[3]) and not associated("label", e[0], e[2])
    for seed in range(20):
        assert epoch_pairs(e, "release", np.random.default_rng(seed)) in ([(0, 1)], [(1, 0)])
        assert {frozenset(p) for p in epoch_pairs(e, "label", np.random.default_rng(seed))} <= {
            frozenset({0, 3}),
            frozenset({1, 3}),
            frozenset({2, 3}),
        }
    with pytest.raises(ValueError, match="unknown association"):
        epoch_pairs(e, "genre", np.random.default_rng(0))


def test_catalogue_csv_rows_and_validation(tmp_path: Path) -> None:
    text = "path,track,release,artist,label,extra\na.ogg,t1,R1|R2,Ann,Lab\n/abs/b.ogg,t2,R2, Bob | Ann ,\n"
    entries = parse_catalogue(text, source="cat.csv", base=tmp_path)
    assert entries[0] == Entry(
        str(tmp_path / "a.ogg"), "t1", frozenset({"R1", "R2"}), frozenset({"Ann"}), frozenset({"Lab"})
    )
    assert entries[1].path == "/abs/b.ogg" and entries[1].artists == {"Bob", "Ann"} and entries[1].labels == set()
    bad = {
        "path,track,release\na,t,r\n": "the header lacks 'artist', 'label'",
        "path,track,release,artist,label\na,t,r,x,y\n,t,r,x,y\n": "row 2: column 'path': empty",
        "path,track,release,artist,label\na,,r,x,y\n": "row 1: column 'track': empty",
        "path,track,release,artist,label\na,t,r,x,y\nb,t,r,x,y\na,u,r,x,y\n": (
            "row 3: column 'path': 'a' is listed already (row 1)"
        ),
        "path,track,release,artist,label\n": "no recordings",
        'path,track,release,artist,label\n"a\r",t,r,x,y\n"unterminated': "not valid CSV",
    }
    for csv_text, message in bad.items():
        with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
            parse_catalogue(csv_text, source="cat.csv")
