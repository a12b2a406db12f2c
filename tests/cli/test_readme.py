"""The README's examples, run as a new user runs them: in order, in one folder."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT


def _block_after(heading: str) -> list[str]:
    """The command lines of the first ``sh`` block after ``heading`` (comments dropped)."""
    text = (ROOT / "README.md").read_text()
    block = text[text.index(heading) :].split("```sh\n", 1)[1].split("```", 1)[0]
    return [re.sub(r"\s+#.*$", "", line) for line in block.splitlines() if line.strip()]


def test_the_render_examples_run_in_order(tmp_path: Path, bundled_sf2: Path) -> None:
    """Issue 31: the fifth example failed with "exists" when run after the first."""
    shutil.copy(ROOT / "examples" / "ode_to_joy.mid", tmp_path / "song.mid")
    (tmp_path / "midi").mkdir()
    shutil.copy(ROOT / "examples" / "ode_to_joy_cover.mid", tmp_path / "midi" / "cover.mid")
    shutil.copy(bundled_sf2, tmp_path / "my.sf2")
    lines = _block_after("### `mtk render`")
    assert len(lines) == 5 and all(line.startswith(("mtk render", "cat song.mid | mtk render")) for line in lines)
    script = f'mtk() {{ "{sys.executable}" -m mtk "$@"; }}\nset -e\n' + "\n".join(lines) + "\n"
    env = {**os.environ, "NO_COLOR": "1"}
    proc = subprocess.run(["bash", "-c", script], cwd=tmp_path, capture_output=True, text=True, env=env, check=False)
    assert proc.returncode == 0, proc.stderr
    for out in ("song.wav", "piped.wav", "song-22k.wav", "stems/mix.wav", "wav/cover.wav"):
        assert (tmp_path / out).stat().st_size > 1000, out


def test_the_readme_names_what_the_test_suite_needs() -> None:
    """Issue 31: `make test-deps` and hydrogen-data (the kits the transcribe examples name)
    were never mentioned, though `make test` skips tests without them."""
    readme = (ROOT / "README.md").read_text()
    deps = re.search(r"^TEST_DEPS := (.*)$", (ROOT / "Makefile").read_text(), re.M)
    assert deps and "make test-deps" in readme
    assert all(pkg in readme for pkg in deps.group(1).split() if pkg != "timgm6mb-soundfont"), deps.group(1)
