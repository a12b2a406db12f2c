"""The ``mtk`` entry point: lazy command table, error mapping, exit codes, signals.

Commands live one per module and are imported only when invoked or listed in help, so
``mtk --help`` stays fast. Every expected error becomes one line on stderr,
``mtk <command>: error: <message>``, with exit code 1 (runtime) or 2 (usage); Ctrl-C exits
130, SIGTERM 143 and SIGHUP 129, each after unwinding (temporary files removed); unexpected
exceptions print one line too, and their traceback only with ``-v`` or ``MTK_DEBUG=1``. The
library's log records (``mtk.*`` loggers: a truncated file's warning, a decoder's chatter)
become the same stderr lines, quiet under ``-q``.
"""

from __future__ import annotations

import importlib
import logging
import os
import signal
import sys
import traceback
from collections.abc import Sequence
from typing import Annotated, Any

import typer
from typer import _click  # typer vendors click; pinned to typer<0.30 in pyproject
from typer.core import TyperGroup

from mtk import __version__
from mtk.cli import common
from mtk.errors import MtkError, Terminated

# name -> (module under mtk.cli, one-line help shown in `mtk --help`)
COMMANDS: dict[str, tuple[str, str]] = {
    "render": ("render", "Render MIDI to audio through a SoundFont synthesizer."),
    "corpus": ("corpus", "Build training and evaluation corpora from real melodies, soundfonts and drum kits."),
    "detect-cover": ("detect_cover", "Are these recordings versions of the same work?"),
    "cover": ("cover", "Covers in a listener's favourite genre; so far their taste profile."),
    "embed": ("embed", "Embed audio as vectors learned from metadata associations; index them, find neighbours."),
    "rank-samples": ("rank_samples", "Rank drum samples by how well they fit a musical context (SampleMatch)."),
    "separate": ("separate", "Separate a mix into drums, bass, lead and other stems."),
    "transcribe": ("transcribe", "Transcribe drum audio to MIDI or events (DrummerNet)."),
    "accompany": ("accompany", "Play drums along to a drumless recording (JukeDrummer)."),
    "infill": ("infill", "Fill a gap in a melody, shaped by a reference section (structure-aware Transformer)."),
    "situate": ("situate", "Which listening situation fits a track, a user and a device context?"),
    "train": ("train", "Train mtk's models on corpora built by `mtk corpus`."),
    "eval": ("eval", "Measure mtk's models on held-out corpora."),
    "models": ("models", "List, locate and verify mtk's shipped models."),
}


class LazyGroup(TyperGroup):
    """A Typer group whose sub-commands are imported from their modules on first use."""

    def list_commands(self, ctx: _click.Context) -> list[str]:
        return [*super().list_commands(ctx), *COMMANDS]

    def get_command(self, ctx: _click.Context, cmd_name: str) -> _click.Command | None:
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        if cmd_name not in COMMANDS:
            return None
        module = importlib.import_module(f"mtk.cli.{COMMANDS[cmd_name][0]}")
        command = typer.main.get_command(module.app)
        command.name = cmd_name
        command.short_help = COMMANDS[cmd_name][1]
        self.commands[cmd_name] = command
        return command

    def invoke(self, ctx: _click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except EOFError as exc:  # click would turn it into an abort (exit 130, no message): it is a bug
            raise RuntimeError(f"EOFError: {exc or 'unexpected end of data'}") from exc

    def resolve_command(self, ctx: _click.Context, args: list[str]) -> Any:
        name, cmd, rest = super().resolve_command(ctx, args)
        common.STATE.command = f"mtk {name}" if name else "mtk"
        return name, cmd, rest

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None, **extra: Any) -> Any:
        """Run the CLI, mapping every outcome to an exit code (see module docstring)."""
        standalone = extra.pop("standalone_mode", True)
        code = run_group(self, args, prog_name or "mtk", **extra)
        if standalone:
            sys.exit(code)
        return code


class _MessageHandler(logging.Handler):
    """The library's log records (``mtk.*`` loggers) as mtk's stderr lines: warnings unless
    ``-q``, details only with ``-v``."""

    def emit(self, record: logging.LogRecord) -> None:
        (common.warn if record.levelno >= logging.WARNING else common.info)(record.getMessage())


def _route_library_messages() -> None:
    root = logging.getLogger("mtk")
    if not any(isinstance(h, _MessageHandler) for h in root.handlers):
        root.addHandler(_MessageHandler())
        root.setLevel(logging.INFO)
        root.propagate = False


def run_group(group: _click.Command, args: Sequence[str] | None, prog_name: str, **extra: Any) -> int:
    """Invoke ``group`` and return the exit code; errors become one line on stderr."""
    common.STATE.reset()
    _route_library_messages()
    try:
        rv = TyperGroup.main(group, args=args, prog_name=prog_name, standalone_mode=False, **extra)
        return rv if isinstance(rv, int) else 0
    except MtkError as exc:
        _report(str(exc))
        return exc.exit_code
    except _click.exceptions.ClickException as exc:
        cmd = exc.ctx.command_path if getattr(exc, "ctx", None) is not None else common.STATE.command
        help_hint = f" (see '{cmd} --help')" if isinstance(exc, _click.exceptions.UsageError) else ""
        print(f"{cmd}: error: {exc.format_message()}{help_hint}", file=sys.stderr)
        return exc.exit_code
    except (KeyboardInterrupt, typer.Abort):
        print(file=sys.stderr)
        return 130
    except Terminated as exc:  # SIGTERM, SIGHUP: every finally has run (temporary files removed)
        return 128 + exc.signum
    except BrokenPipeError:
        return _broken_pipe()
    except Exception as exc:  # a bug: still one line, the traceback on request
        _report(f"internal error: {type(exc).__name__}: {exc}")
        if not common.STATE.verbose:
            print(f"{common.STATE.command}: run with -v or MTK_DEBUG=1 for the traceback", file=sys.stderr)
        return 1


def _report(message: str) -> None:
    if common.STATE.verbose:
        traceback.print_exc(file=sys.stderr)
    print(f"{common.STATE.command}: error: {message}", file=sys.stderr)


def _broken_pipe() -> int:
    # The reader went away (`| head`): silence the final flush and exit quietly.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return 141


def _terminate(signum: int, frame: object) -> None:
    raise Terminated(signum)


def _version(value: bool) -> None:
    if value:
        print(f"mtk {__version__}")
        raise typer.Exit(0)


app = typer.Typer(
    cls=LazyGroup,
    name="mtk",
    help="mtk: composable Unix-style music-AI tools. Read files or stdin; write WAV, MIDI or JSON Lines.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """mtk: composable Unix-style music-AI tools."""


def cli_group() -> _click.Command:
    """The root click command (for docs generation and tests)."""
    return typer.main.get_command(app)


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point."""
    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `mtk ... | head` ends quietly
    for name in ("SIGTERM", "SIGHUP"):  # unwind as Ctrl-C does, so temporary files are removed
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), _terminate)
    if os.environ.get("MTK_DEBUG"):
        common.STATE.debug = True
    cli_group().main(args=argv, prog_name="mtk")


if __name__ == "__main__":
    main()
