"""Generate man pages (``man/``) and shell completions (``completions/``) from the CLI.

``python -m mtk.cli.docgen`` (or ``make docs``) rewrites them; ``--check`` exits 1 when the
checked-in files differ from what the CLI would generate (a test runs this). Completions
are static scripts: they list commands, options and choices without starting Python.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from typer import _click
from typer.core import TyperOption

from mtk import __version__
from mtk.cli.main import cli_group

ROOT = Path(__file__).resolve().parents[2]
EXIT_STATUS = [
    ("0", "Success."),
    ("1", "Runtime failure, including any failed input in a batch."),
    (
        "2",
        "Usage error: bad option, unavailable device, unreadable or invalid input, binary output to a terminal, "
        "an existing output without --force.",
    ),
    ("130", "Interrupted (Ctrl-C)."),
]
ENVIRONMENT = [
    ("MTK_CACHE_DIR", "Folder searched for model files after the package (default $XDG_CACHE_HOME/mtk)."),
    ("MTK_SOUNDFONT", "Default SoundFont for mtk render."),
    ("MTK_DEBUG", "Print tracebacks on errors, as -v does."),
    ("NO_COLOR", "Turn colour off on stderr."),
]


@dataclass
class Opt:
    names: list[str]
    help: str
    metavar: str | None  # None for flags
    choices: list[str] = field(default_factory=list)
    path: bool = False
    default: object = None


@dataclass
class Cmd:
    path: list[str]
    help: str
    epilog: str
    opts: list[Opt]
    args: list[str]
    subs: list[Cmd]

    @property
    def name(self) -> str:
        return " ".join(self.path)

    @property
    def slug(self) -> str:
        return "-".join(self.path)


def collect(
    command: _click.Command | None = None, path: list[str] | None = None, parent: _click.Context | None = None
) -> Cmd:
    """Walk the click tree into plain records."""
    command = command or cli_group()
    path = path or ["mtk"]
    ctx = _click.Context(command, info_name=path[-1], parent=parent)
    opts, args = [], []
    for p in command.params:
        if getattr(p, "hidden", False):
            continue
        if isinstance(p, TyperOption):
            shown = p.display_type(ctx) if hasattr(p, "display_type") else ""
            choices = shown.strip("<>").split("|") if "|" in shown else []
            is_flag = bool(getattr(p, "is_flag", False))
            bare = shown.strip("<>").replace(" range", "")
            meta = None if is_flag else (p.metavar or (bare if choices else bare.upper()) or "VALUE")
            opts.append(
                Opt(
                    list(p.opts),
                    (p.help or "").strip(),
                    meta,
                    choices,
                    "path" in shown or (p.metavar or "") in {"PATH", "SF2", "DIR", "FILE"},
                    p.default,
                )
            )
        else:
            args.append(p.metavar or p.name.upper())  # INPUT arguments complete file names
    opts.append(Opt(["-h", "--help"], "Show help and exit.", None))
    subs = []
    if isinstance(command, _click.Command) and hasattr(command, "list_commands"):
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is not None and not sub.hidden:
                subs.append(collect(sub, [*path, name], ctx))
    return Cmd(path, (command.help or "").strip(), (command.epilog or "").strip(), opts, args, subs)


def first_sentence(text: str) -> str:
    """The first sentence of a help text, without its full stop."""
    return re.split(r"(?<=[.;!?])\s", text.strip(), maxsplit=1)[0].rstrip(".") if text else ""


def walk(cmd: Cmd) -> list[Cmd]:
    """The command and all its descendants, depth first."""
    return [cmd, *(c for s in cmd.subs for c in walk(s))]


# ---------------------------------------------------------------- man pages


def _roff(text: str) -> str:
    text = text.replace("\\", "\\e").replace("-", "\\-")
    return "\n".join(("\\&" + line) if line.startswith((".", "'")) else line for line in text.splitlines())


def _synopsis(cmd: Cmd) -> str:
    if cmd.subs:
        return f".B {cmd.name}\n[\\fIOPTIONS\\fR] \\fICOMMAND\\fR [\\fIARGS\\fR]..."
    args = " ".join(f"[\\fI{a}\\fR]..." for a in cmd.args)
    return f".B {cmd.name}\n[\\fIOPTIONS\\fR] {args}".rstrip()


def man_page(cmd: Cmd, root: Cmd) -> str:
    """One roff man page for a command (groups list their sub-commands)."""
    title = cmd.slug.upper()
    summary = cmd.help.split("\n")[0] if cmd.help else ""
    lines = [
        f'.TH {title} 1 "" "mtk {__version__}" "mtk manual"',
        ".SH NAME",
        f"{_roff(cmd.slug)} \\- {_roff(summary)}",
        ".SH SYNOPSIS",
        _synopsis(cmd),
        ".SH DESCRIPTION",
    ]
    for para in re.split(r"\n\s*\n", cmd.help):
        lines += [_roff(" ".join(para.split())), ".PP"]
    lines.pop()
    if cmd.subs:
        lines.append(".SH COMMANDS")
        for sub in cmd.subs:
            lines += [".TP", f".B {sub.path[-1]}", _roff(sub.help.split("\n")[0]), f"See \\fB{sub.slug}\\fR(1)."]
    lines.append(".SH OPTIONS")
    for opt in cmd.opts:
        names = ", ".join(f"\\fB{_roff(n)}\\fR" for n in opt.names)
        meta = f" \\fI{_roff(opt.metavar)}\\fR" if opt.metavar else ""
        extra = ""
        if opt.choices:
            extra += f" One of: {', '.join(opt.choices)}."
        if opt.metavar and opt.default not in (None, "", False):
            extra += f" Default: {opt.default}."
        lines += [".TP", names + meta, _roff(opt.help + extra)]
    if cmd.epilog:
        lines.append(".SH EXAMPLES")
        for line in cmd.epilog.splitlines():
            line = line.strip()
            if line and not line.endswith(":"):
                lines += [".PP", ".nf", _roff(line), ".fi"]
    lines.append(".SH EXIT STATUS")
    for code, text in EXIT_STATUS:
        lines += [".TP", f".B {code}", _roff(text)]
    if len(cmd.path) == 1:
        lines.append(".SH ENVIRONMENT")
        for var, text in ENVIRONMENT:
            lines += [".TP", f".B {var}", _roff(text)]
    others = [c.slug for c in walk(root) if c.slug != cmd.slug and len(c.path) <= 2]
    lines += [".SH SEE ALSO", ", ".join(f"\\fB{o}\\fR(1)" for o in others)]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- completions


def _words(cmd: Cmd) -> str:
    return " ".join([*(s.path[-1] for s in cmd.subs), *(n for o in cmd.opts for n in o.names)])


def bash_completion(root: Cmd) -> str:
    """A static bash completion script."""
    nodes = walk(root)
    known = "|".join(f'"{" ".join(c.path[:-1])} {c.path[-1]}"' for c in nodes[1:])
    value_cases, word_cases = [], []
    for c in nodes:
        for o in c.opts:
            if o.metavar is None:
                continue
            pattern = "|".join(f'"{c.name}|{n}"' for n in o.names)
            if o.choices:
                action = f'COMPREPLY=($(compgen -W "{" ".join(o.choices)}" -- "$cur"))'
            elif o.path:
                action = 'COMPREPLY=($(compgen -f -- "$cur"))'
            else:
                action = "COMPREPLY=()"
            value_cases.append(f"        {pattern}) {action}; return ;;")
        files = "" if c.subs or "INPUT" not in c.args else '; COMPREPLY+=($(compgen -f -- "$cur"))'
        word_cases.append(f'        "{c.name}") COMPREPLY=($(compgen -W "{_words(c)}" -- "$cur")){files} ;;')
    return "\n".join(
        [
            "# bash completion for mtk (generated by `python -m mtk.cli.docgen`; do not edit)",
            "_mtk() {",
            "    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} path=mtk i",
            "    for ((i = 1; i < COMP_CWORD; i++)); do",
            '        case "$path ${COMP_WORDS[i]}" in',
            f'            {known}) path="$path ${{COMP_WORDS[i]}}" ;;',
            "        esac",
            "    done",
            '    case "$path|$prev" in',
            *value_cases,
            "    esac",
            '    case "$path" in',
            *word_cases,
            "    esac",
            "}",
            "complete -o filenames -F _mtk mtk",
            "",
        ]
    )


def _zsh_escape(text: str) -> str:
    text = text.replace("[", "(").replace("]", ")").replace(":", " -").replace('"', "")
    return text.replace("'", "'\\''")


def zsh_completion(root: Cmd) -> str:
    """A static zsh completion script (``#compdef mtk``)."""
    out = ["#compdef mtk", "# zsh completion for mtk (generated by `python -m mtk.cli.docgen`; do not edit)", ""]
    for c in walk(root):
        fn = "_" + "_".join(p.replace("-", "_") for p in c.path)
        specs = []
        for o in c.opts:
            for n in o.names:
                spec = f"{n}[{_zsh_escape(first_sentence(o.help))}]"
                if o.metavar is not None:
                    action = f"({' '.join(o.choices)})" if o.choices else ("_files" if o.path else " ")
                    spec += f":{o.metavar.lower()}:{action}"
                specs.append(f"'{spec}'")
        if c.subs:
            described = " ".join(f'{s.path[-1]}\\:"{_zsh_escape(first_sentence(s.help))}"' for s in c.subs)
            specs += [f"'1:command:(({described}))'", "'*:: :->args'"]
            cases = " ".join(f"{s.path[-1]}) {fn}_{s.path[-1].replace('-', '_')} ;;" for s in c.subs)
            body = [
                f"    _arguments -C {' '.join(specs)}",
                f"    case $state in args) case $words[1] in {cases} esac ;; esac",
            ]
        else:
            if "INPUT" in c.args:
                specs.append("'*:input:_files'")
            body = [f"    _arguments {' '.join(specs)}"]
        out += [f"{fn}() {{", "    local state line", *body, "}", ""]
    out += ['_mtk "$@"', ""]
    return "\n".join(out)


def fish_completion(root: Cmd) -> str:
    """A static fish completion script."""
    out = ["# fish completion for mtk (generated by `python -m mtk.cli.docgen`; do not edit)", "complete -c mtk -f"]
    for c in walk(root):
        below = " ".join(s.path[-1] for s in c.subs)
        parts = [f"__fish_seen_subcommand_from {p}" for p in c.path[1:]]
        parts += [f"not __fish_seen_subcommand_from {below}"] if below else []
        cond = "; and ".join(parts) or "true"
        for s in c.subs:
            desc = first_sentence(s.help).replace('"', "'")
            out.append(f'complete -c mtk -n "{cond}" -a {s.path[-1]} -d "{desc}"')
        for o in c.opts:
            flags = " ".join(f"-s {n[1:]}" if len(n) == 2 else f"-l {n[2:]}" for n in o.names)
            kind = ""
            if o.metavar is not None:
                kind = f' -x -a "{" ".join(o.choices)}"' if o.choices else (" -r -F" if o.path else " -x")
            desc = first_sentence(o.help).replace('"', "'")
            out.append(f'complete -c mtk -n "{cond}" {flags}{kind} -d "{desc}"')
        if "INPUT" in c.args and not c.subs:
            out.append(f'complete -c mtk -n "{cond}" -F')
    return "\n".join(out) + "\n"


def generate() -> dict[Path, str]:
    """Every generated file, keyed by its path in the repository."""
    root = collect()
    files = {ROOT / "man" / f"{c.slug}.1": man_page(c, root) for c in walk(root)}
    files[ROOT / "completions" / "mtk.bash"] = bash_completion(root)
    files[ROOT / "completions" / "mtk.zsh"] = zsh_completion(root)
    files[ROOT / "completions" / "mtk.fish"] = fish_completion(root)
    return files


def stale(files: dict[Path, str]) -> list[Path]:
    """Generated files whose checked-in copy differs, plus stray man pages."""
    out = [p for p, text in files.items() if not p.is_file() or p.read_text() != text]
    out += [p for p in sorted((ROOT / "man").glob("*.1")) if p not in files]
    return out


def main(argv: list[str] | None = None) -> int:
    """Write the files, or with ``--check`` report stale ones and exit 1."""
    argv = sys.argv[1:] if argv is None else argv
    files = generate()
    if "--check" in argv:
        bad = stale(files)
        for path in bad:
            print(f"stale: {path.relative_to(ROOT)} (run `make docs`)", file=sys.stderr)
        return 1 if bad else 0
    for path in (ROOT / "man").glob("*.1"):
        if path not in files:
            path.unlink()
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    print(f"wrote {len(files)} files", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
