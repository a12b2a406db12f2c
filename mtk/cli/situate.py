"""``mtk situate``: listening situations from track audio, user and device context."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from typer.core import TyperGroup

from mtk.cli import common
from mtk.cli.options import AudioCorpora, Device, FailFast, Force, Output, Quiet, Verbose
from mtk.errors import UsageError

PREDICT = "predict"


class DefaultToPredict(TyperGroup):
    """``mtk situate FILE`` means ``mtk situate predict FILE``: anything but a sub-command's
    name (or help) first goes to ``predict``."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = [PREDICT, *args]
        return super().parse_args(ctx, args)


HELP = (
    "Which listening situation (work, gym, party, sleep, morning, run, night, dance, car, train, relax, club) "
    "fits a stream of (track, user, device context): auSP reads the track's audio and the user's listening "
    "history, duSP (XGBoost) the time, device, network and demographics, and the joint combines both.\n\n"
    "mtk situate STREAMS: per stream, the top situations of each branch (JSON Lines). "
    "mtk situate now: a user's likely situations right now. "
    "mtk situate session: a folder of tracks ranked for a user and situation."
)
EPILOG = """Examples:
  mtk situate streams.jsonl --audio data/songs > situations.jsonl
  mtk situate streams.csv --branch dusp -k 1
  mtk situate now --user u00042 --age 27 --country FR --gender female --device mobile --network mobile
  mtk situate session --user u00042 --situation gym --tracks ~/Music -n 20 --history plays.csv
"""

app = typer.Typer(
    cls=DefaultToPredict, add_completion=False, no_args_is_help=True, help=HELP, epilog=EPILOG, name="situate"
)

AuspModel = Annotated[
    Optional[str],
    typer.Option("--ausp", metavar="NAME|PATH", help="auSP model (default: situate-ausp-v2)."),
]
DuspModel = Annotated[
    Optional[str],
    typer.Option("--dusp", metavar="NAME|PATH", help="duSP model (default: situate-dusp-v1)."),
]
History = Annotated[
    Optional[str],
    typer.Option(
        "--history",
        metavar="FILE",
        help="Listening history (user, track, plays; CSV or JSON Lines) embedding its users in place of the model's "
        "own of the same id: plays of tracks the model was trained on and, with a model that has a content map, "
        "of any audio (a path, relative to the file, or a song id of --audio).",
    ),
]
TopK = Annotated[int, typer.Option("-k", "--top", min=1, help="Situations listed per branch.")]


def _emit(records: list[dict[str, Any]], output: str | None, *, force: bool) -> None:
    from mtk.io.files import atomic_write
    from mtk.io.records import JsonLinesWriter, dumps

    if output and output != "-":
        atomic_write(output, "".join(dumps(r) + "\n" for r in records).encode(), force=force)
    else:
        writer = JsonLinesWriter()
        for record in records:
            writer.write(record)


def _histories(path: str | None) -> dict[str, dict[str, float]]:
    from mtk.situate.users import read_history_file

    return read_history_file(path) if path else {}


def _shown(items: list[str]) -> str:
    return ", ".join(items[:5]) + (f" and {len(items) - 5} more" if len(items) > 5 else "")


def _fold_in(
    branch: Any, histories: dict[str, dict[str, float]], history: str | None, corpora: list[Path]
) -> dict[str, Any]:
    """Factor rows of the history's tracks the model was not trained on, heard from their audio
    (a path, relative to the history file, or a song id of --audio) when the model has a
    content map; what cannot be folded in is named in a warning."""
    from mtk.situate.train import resolve_track

    unknown = branch.unknown_tracks(histories)
    if not unknown:
        return {}
    total = len({t for plays in histories.values() for t in plays})
    if branch.content_map is None:
        common.warn(
            f"{len(unknown)} of the {total} tracks of --history ({_shown(unknown)}) are not among those {branch.name} "
            "was trained on, and it cannot hear others (no content map; models trained by `mtk train situate` "
            "have one): they are left out"
        )
        return {}
    base = Path(history).parent if history and history != "-" else Path(".")
    paths, missing = {}, []
    for track in unknown:
        path = resolve_track(track, base=base, corpora=corpora)
        if path is None:
            missing.append(track)
        else:
            paths[track] = str(path)
    if missing:
        common.warn(f"{len(missing)} tracks of --history have no audio ({_shown(missing)}): they are left out")
    heard, failed = branch.hear(paths, progress=lambda xs: common.progress(xs, label="history"))
    if failed:
        common.warn(f"{len(failed)} tracks of --history cannot be read ({_shown(list(failed.values()))}): left out")
    return heard


def _warn_unknown(users: list[str], histories: dict[str, dict[str, float]]) -> None:
    unusable = [u for u in users if u in histories]
    if unusable:
        common.warn(
            f"the --history of {len(unusable)} user(s) ({_shown(unusable)}) has no track auSP knows or could hear: "
            "it reads their tracks' audio alone"
        )
    users = [u for u in users if u not in histories]
    if users:
        common.warn(
            f"auSP knows no history of {len(users)} user(s) ({_shown(users)}); it reads their tracks' audio alone"
        )


PREDICT_HELP = (
    "Per stream (CSV with a header, or JSON Lines; stdin when omitted), the top situations of each branch.\n\n"
    "Columns: timestamp (local time, ISO 8601, e.g. 2019-08-14T07:32:00), device (mobile, desktop, tablet), "
    "network (mobile, wifi, LAN, plane), user, age (years), country (ISO 3166 alpha-2, e.g. FR), gender "
    "(female, male, other), track (an audio path, or a song id of --audio CORPUS); age, country and gender "
    "may be empty. duSP needs timestamp, device and network; auSP needs track. A bad row is an error naming "
    "its row and column. Output: one JSON line per stream with row, user, track, timestamp and, per branch "
    "(dusp, ausp, joint), the top -k situations with their probabilities."
)


@app.command(PREDICT, help=PREDICT_HELP)
def predict(
    streams: Annotated[str, typer.Argument(metavar="STREAMS", help="Stream file, or '-' for stdin.")] = "-",
    audio: AudioCorpora = None,
    history: History = None,
    branch: Annotated[str, typer.Option("--branch", help="both, ausp or dusp.")] = "both",
    top: TopK = 3,
    ausp: AuspModel = None,
    dusp: DuspModel = None,
    output: Output = None,
    device: Device = "auto",
    force: Force = False,
    quiet: Quiet = False,
    verbose: Verbose = False,
) -> None:
    from mtk.device import resolve_device
    from mtk.errors import InputError
    from mtk.io.files import check_writable
    from mtk.situate.audio import MelCache
    from mtk.situate.infer import load
    from mtk.situate.schema import read_streams
    from mtk.situate.train import resolve_track

    if branch not in ("both", "ausp", "dusp"):
        raise UsageError(f"unknown --branch {branch!r} (expected both, ausp or dusp)")
    if output and output != "-":
        check_writable(output, force=force)
    need = ["user"]
    if branch != "ausp":
        need += ["timestamp", "device", "network"]
    if branch != "dusp":
        need += ["track"]
    table = read_streams(streams, need=need)
    histories = _histories(history)  # checked before the audio is read
    situator = load(ausp, dusp, device=resolve_device(device), use=branch)
    embeddings = None
    if situator.audio is not None:
        base = Path(streams).parent if streams != "-" else Path(".")
        cache, embeddings = MelCache(), {}
        for track in common.progress(sorted(set(table.track)), label="tracks"):
            where = f"{streams}: row {table.track.index(track) + 1}: column 'track'"
            path = resolve_track(track, base=base, corpora=audio or [])
            if path is None:
                raise UsageError(f"{where}: no audio for {track!r}", hint="give --audio")
            try:
                embeddings[track] = situator.audio.audio_embeddings(cache.get(path)[None])[0]
            except InputError as exc:
                raise InputError(f"{where}: {exc}") from None
    streamed = set(table.user)
    histories = {u: plays for u, plays in histories.items() if u in streamed}  # fold in only who is asked about
    heard = _fold_in(situator.audio, histories, history, audio or []) if situator.audio is not None else {}
    records, unknown = situator.predict(table, k=top, audio=embeddings, histories=histories, heard=heard)
    _warn_unknown(unknown, histories)
    _emit(records, output, force=force)


NOW_OPTIONS = {"timestamp": "time"}  # stream columns that `situate now` spells otherwise


@app.command("now", help="A user's likely situations right now (or at --time), from duSP.")
def now(
    device_type: Annotated[str, typer.Option("--device", help="mobile, desktop or tablet.")],
    network: Annotated[str, typer.Option("--network", help="mobile, wifi, LAN or plane.")],
    user: Annotated[
        str,
        typer.Option(
            "--user", help="User id, echoed in the record: duSP reads the context and demographics, not who it is."
        ),
    ] = "",
    age: Annotated[Optional[float], typer.Option("--age", help="Years.")] = None,
    country: Annotated[str, typer.Option("--country", help="ISO 3166 alpha-2 code, e.g. FR.")] = "",
    gender: Annotated[str, typer.Option("--gender", help="female, male or other.")] = "",
    time: Annotated[
        Optional[str], typer.Option("--time", metavar="ISO", help="Local time (default: now), e.g. 2019-08-14T07:30.")
    ] = None,
    top: TopK = 3,
    dusp: DuspModel = None,
    quiet: Quiet = False,
    verbose: Verbose = False,
) -> None:
    from mtk.errors import InputError
    from mtk.situate.infer import load

    situator = load(dusp=dusp, use="dusp")
    context = {
        "user": user,
        "timestamp": time,
        "device": device_type,
        "network": network,
        "age": "" if age is None else age,
        "country": country,
        "gender": gender,
    }
    try:
        record = situator.now(context, k=top)
    except InputError as exc:  # "now: row 1: column 'device': ..." -> name the option instead
        column, _, detail = str(exc).removeprefix("now: row 1: column '").partition("': ")
        raise UsageError(f"--{NOW_OPTIONS.get(column, column)}: {detail}" if detail else str(exc)) from None
    _emit([record], None, force=False)


SESSION_HELP = (
    "Tracks (files or folders) ranked by auSP for a user and a situation.\n\n"
    "One JSON line per ranked track (on stdout or in -o FILE); a track that cannot be read is an error message "
    'and an {"input", "error"} record on stdout after the ranking, and the command exits 1 (--fail-fast: it stops '
    "at the first, writing no ranking)."
)


@app.command("session", help=SESSION_HELP)
def session(
    user: Annotated[str, typer.Option("--user", help="User id (known to the model, or in --history).")],
    situation: Annotated[str, typer.Option("--situation", help="One of the model's situations, e.g. gym.")],
    tracks: Annotated[list[str], typer.Option("--tracks", metavar="PATH", help="Audio files or folders (repeatable).")],
    count: Annotated[int, typer.Option("-n", "--count", min=1, help="Tracks in the session.")] = 20,
    history: History = None,
    ausp: AuspModel = None,
    output: Output = None,
    device: Device = "auto",
    fail_fast: FailFast = False,
    force: Force = False,
    quiet: Quiet = False,
    verbose: Verbose = False,
) -> None:
    import sys

    import numpy as np

    from mtk.device import resolve_device
    from mtk.errors import MtkError
    from mtk.io.files import check_writable
    from mtk.io.inputs import AUDIO_EXTENSIONS, expand_inputs
    from mtk.situate.audio import MelCache
    from mtk.situate.infer import load

    if output and output != "-":
        check_writable(output, force=force)
    situator = load(ausp=ausp, device=resolve_device(device), use="ausp")
    if situation not in situator.situations:
        raise UsageError(f"unknown --situation {situation!r}", hint=f"one of {', '.join(situator.situations)}")
    files = expand_inputs(tracks, extensions=AUDIO_EXTENSIONS, stdin_ok=False)
    histories = _histories(history)
    cache, kept, embeddings, failed = MelCache(), [], [], []
    for path in common.progress(files, label="tracks"):
        try:
            embeddings.append(situator.audio.audio_embeddings(cache.get(path)[None])[0])
            kept.append(path)
        except MtkError as exc:  # the batch rule: a message, an error record, exit 1 at the end
            print(f"{common.STATE.command}: error: {exc}", file=sys.stderr)
            failed.append({"input": path, "error": str(exc)})
            if fail_fast:
                break
    if failed and (fail_fast or not kept):
        _emit(failed, None, force=False)
        raise typer.Exit(1)
    mine = {user: histories[user]} if user in histories else {}
    if histories and not mine:
        common.warn(f"--history has no plays of user {user!r}")
    heard = _fold_in(situator.audio, mine, history, [])
    ranked, known = situator.session(
        user, situation, kept, np.stack(embeddings), n=count, history=mine.get(user), heard=heard
    )
    if not known:
        _warn_unknown([user], mine)
    _emit(ranked, output, force=force)
    if failed:  # after the ranking, on stdout (the ranking may have gone to -o FILE)
        _emit(failed, None, force=False)
        raise typer.Exit(1)
