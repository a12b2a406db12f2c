"""man/ and completions/ are generated from the CLI and must be current."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from mtk.cli import docgen
from tests.conftest import ROOT


def test_generated_docs_are_current() -> None:
    stale = docgen.stale(docgen.generate())
    assert not stale, f"stale generated files (run `make docs`): {[str(p.relative_to(ROOT)) for p in stale]}"


def test_every_command_has_a_man_page() -> None:
    names = {p.stem for p in (ROOT / "man").glob("*.1")}
    assert {"mtk", "mtk-render", "mtk-models", "mtk-models-list", "mtk-models-path", "mtk-models-verify"} <= names


def _complete(words: str) -> list[str]:
    script = f"""
source {ROOT / "completions" / "mtk.bash"}
COMP_WORDS=({words}); COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))
_mtk; printf '%s\\n' "${{COMPREPLY[@]}}"
"""
    return subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=True).stdout.split()


def test_bash_completion_works() -> None:
    assert _complete("mtk re") == ["render"]
    assert _complete("mtk render --sy") == ["--synth"]
    assert _complete("mtk render --synth bu") == ["builtin"]
    assert _complete("mtk models ve") == ["verify"]
    assert "--all" in _complete("mtk models list --")


@pytest.mark.parametrize(
    "shell,flag,name", [("bash", "-n", "mtk.bash"), ("zsh", "-n", "mtk.zsh"), ("fish", "--no-execute", "mtk.fish")]
)
def test_completion_syntax(shell: str, flag: str, name: str) -> None:
    if shutil.which(shell) is None:
        pytest.skip(f"{shell} not installed")
    subprocess.run([shell, flag, str(ROOT / "completions" / name)], check=True)


def test_man_pages_render() -> None:
    if shutil.which("groff") is None:
        pytest.skip("groff not installed")
    for page in (ROOT / "man").glob("*.1"):
        proc = subprocess.run(
            ["groff", "-man", "-Tutf8", "-ww", "-P-bcou", str(page)], capture_output=True, text=True, check=True
        )
        assert "NAME" in proc.stdout and "warning" not in proc.stderr, (page, proc.stderr)
