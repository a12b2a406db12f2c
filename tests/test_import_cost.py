"""`mtk --help` must import only the standard library, typer and rich."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ["torch", "torchaudio", "xgboost", "miditoolkit", "librosa", "numpy", "soundfile", "scipy", "mido"]

SCRIPT = """
import sys
from mtk.cli.main import cli_group
for args in (["--help"], ["render", "--help"], ["models", "--help"], ["models", "list", "--help"], ["--version"]):
    try:
        cli_group().main(args=args, prog_name="mtk", standalone_mode=False)
    except SystemExit:
        pass
heavy = [m for m in {heavy!r} if m in sys.modules]
print("HEAVY=" + ",".join(heavy))
"""


def test_help_imports_no_heavy_library() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(heavy=HEAVY)], capture_output=True, text=True, check=True
    )
    loaded = proc.stdout.strip().splitlines()[-1]
    assert loaded == "HEAVY=", f"heavy modules imported by help: {loaded}"
    assert "Render MIDI" in proc.stdout  # the help really was rendered
