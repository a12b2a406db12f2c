import json

import numpy as np
import soundfile as sf

from tests.conftest import invoke_mtk

DEBUG = ("--model", "separate-debug")


def test_separate_into_a_folder(stem_corpus, tmp_path):
    mix = stem_corpus / "00000-song" / "mix.wav"
    out = tmp_path / "stems"
    res = invoke_mtk("separate", str(mix), "-o", str(out), "--bits", "float", *DEBUG)
    assert res.returncode == 0, res.stderr
    record = json.loads(res.stdout)
    assert record["outputs"] == {s: str(out / f"{s}.wav") for s in ("drums", "bass", "lead", "other")}
    y, sr = sf.read(mix, always_2d=True)
    total = sum(sf.read(p, always_2d=True)[0] for p in record["outputs"].values())
    assert sr == record["sample_rate"] == 44_100 and total.shape == y.shape
    np.testing.assert_allclose(total, y, atol=1e-5)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    again = invoke_mtk("separate", str(mix), "-o", str(out), *DEBUG)  # 16-bit this time
    assert again.returncode == 2 and again.stderr.count(b"\n") == 1 and b"--force" in again.stderr
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # nothing overwritten or left behind


def test_one_stem_to_stdout_and_two_stems(stem_corpus, tmp_path):
    mix = stem_corpus / "00001-song" / "mix.wav"
    res = invoke_mtk("separate", str(mix), "--stem", "drums", *DEBUG)
    assert res.returncode == 0 and res.stdout[:4] == b"RIFF"
    res = invoke_mtk("separate", str(mix), "--two-stems", "bass", "-o", str(tmp_path / "p"), *DEBUG)
    assert res.returncode == 0
    assert sorted(p.name for p in (tmp_path / "p").iterdir()) == ["bass.wav", "no_bass.wav"]


def test_batch_names_and_skip_existing(stem_corpus, tmp_path):
    mixes = [str(p) for p in sorted(stem_corpus.glob("*/mix.wav"))[:2]]
    clash = invoke_mtk("separate", *mixes, "-o", str(tmp_path / "b"), *DEBUG)
    assert clash.returncode == 2 and b"--name" in clash.stderr
    args = ("separate", *mixes, "-o", str(tmp_path / "b"), "--name", "{parent}", *DEBUG)
    first = invoke_mtk(*args)
    assert first.returncode == 0
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == ["00000-song", "00001-song"]
    second = invoke_mtk(*args, "--skip-existing")
    assert [json.loads(line)["skipped"] for line in second.stdout.splitlines()] == [True, True]


def test_usage_errors(stem_corpus, tmp_path):
    mix = str(stem_corpus / "00000-song" / "mix.wav")
    for args in (["--stem", "vocals"], ["--stem", "drums", "--two-stems", "bass"], []):
        res = invoke_mtk("separate", mix, *args, *DEBUG)
        assert res.returncode == 2 and res.stderr.count(b"\n") == 1, (args, res.stderr)
    assert not list(tmp_path.iterdir())
