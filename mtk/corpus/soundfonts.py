"""Find and check General MIDI SoundFonts (SF2/SF3) installed on this machine.

Default choice, best first: ``$MTK_SOUNDFONT``; MuseScore General; FluidR3 GM; other
system soundfonts; TimGM6mb; finally the ``TimGM6mb.sf2`` inside the pretty-midi wheel, so
that ``pip install`` alone can render.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import re
import struct
from collections.abc import Iterable, Iterator
from functools import lru_cache
from pathlib import Path

from mtk.errors import UsageError

logger = logging.getLogger(__name__)

SYSTEM_DIRS = (
    Path("/usr/share/sounds/sf2"),
    Path("/usr/share/sounds/sf3"),
    Path("/usr/share/soundfonts"),
    Path("/usr/local/share/soundfonts"),
)
# Lower-case name fragments in order of preference (quality and GM completeness).
PREFERENCE = ("musescore_general", "fluidr3_gm", "generaluser", "timgm6mb")
SUFFIXES = (".sf2", ".sf3")
DRUM_BANK = 128  # the SF2 bank of percussion kits (GM channel 10)
GM_PROGRAMS = frozenset(range(128))


def check_soundfont(path: str | os.PathLike[str]) -> Path:
    """Return ``path`` if it is a readable SoundFont (RIFF ``sfbk``), else raise UsageError."""
    sf = Path(path)
    hint = "give an .sf2/.sf3 file, e.g. /usr/share/sounds/sf2/FluidR3_GM.sf2"
    if not sf.is_file():
        raise UsageError(f"{sf}: soundfont not found", hint=hint)
    try:
        with open(sf, "rb") as fh:
            head = fh.read(12)
    except OSError as exc:
        raise UsageError(f"{sf}: cannot read soundfont ({exc.strerror})") from None
    if head[:4] != b"RIFF" or head[8:12] != b"sfbk":
        raise UsageError(f"{sf}: not a SoundFont (no RIFF sfbk header)", hint=hint)
    return sf


def bundled_soundfont() -> Path | None:
    """The TimGM6mb.sf2 shipped inside pretty-midi, found without importing it."""
    spec = importlib.util.find_spec("pretty_midi")
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "TimGM6mb.sf2"
    return path if path.is_file() else None


def preset_headers(path: str | os.PathLike[str]) -> dict[tuple[int, int], str]:
    """(bank, program) -> name of every preset of a SoundFont, read from its ``pdta/phdr`` chunk
    (the SF2 spec's 38-byte preset headers; SF3 shares the layout). Only the small ``pdta``
    list is read: the sample data is skipped by seeking. Cached per file and modification time."""
    sf = Path(path)
    try:
        stat = sf.stat()
    except OSError as exc:
        raise UsageError(f"{sf}: cannot read soundfont ({exc.strerror})") from None
    return dict(_preset_headers(str(sf.resolve()), stat.st_mtime_ns, stat.st_size))


_CHUNK_ID = re.compile(rb"[A-Za-z][A-Za-z0-9 ]{3}")


@lru_cache(maxsize=64)
def _preset_headers(path: str, mtime_ns: int, size: int) -> tuple[tuple[tuple[int, int], str], ...]:
    del mtime_ns  # part of the cache key only
    with open(path, "rb") as fh:

        def chunks(start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
            while start + 8 <= end:
                fh.seek(start)
                head = fh.read(8)
                if len(head) < 8:
                    return
                cid, n = head[:4], struct.unpack("<I", head[4:])[0]
                yield cid, start + 8, n
                start += 8 + n
                if n & 1:  # RIFF pads an odd chunk with a byte; some SF3 writers do not (Debian's FluidR3Mono)
                    fh.seek(start)
                    if not _CHUNK_ID.fullmatch(fh.read(4)):
                        start += 1

        for cid, start, n in chunks(12, size):
            fh.seek(start)
            if cid == b"LIST" and fh.read(4) == b"pdta":
                for sub, s2, n2 in chunks(start + 4, start + n):
                    if sub == b"phdr":
                        fh.seek(s2)
                        table = fh.read(n2)
                        out: dict[tuple[int, int], str] = {}
                        for i in range(len(table) // 38 - 1):  # the last record is the terminal "EOP"
                            name, preset, bank = struct.unpack("<20sHH", table[38 * i : 38 * i + 24])
                            out.setdefault((bank, preset), name.split(b"\0")[0].decode("latin-1").strip())
                        return tuple(out.items())
    raise UsageError(f"{path}: no preset headers (not a SoundFont 2)")


def missing_presets(path: str | os.PathLike[str], programs: Iterable[int] = GM_PROGRAMS, *, drums: bool = True) -> str:
    """What a soundfont lacks to play ``programs`` (bank 0) and, with ``drums``, a drum kit
    (bank 128), in words; "" when it has them all. FluidSynth would otherwise substitute its
    first preset (often a piano, in a drum-only font a drum kit) without failing."""
    presets = preset_headers(path)
    melodic = {p for b, p in presets if b == 0}
    lacking = sorted(set(programs) - melodic)
    parts = []
    if lacking:
        shown = ", ".join(str(p) for p in lacking[:8]) + (", ..." if len(lacking) > 8 else "")
        parts.append(f"{len(lacking)} General MIDI program(s) on bank 0 ({shown})")
    if drums and not any(b == DRUM_BANK for b, _ in presets):
        parts.append("a drum kit on bank 128")
    return "lacks " + " and ".join(parts) if parts else ""


def general_midi_soundfonts(
    fonts: Iterable[Path], programs: Iterable[int] = GM_PROGRAMS, *, drums: bool = True
) -> list[Path]:
    """``fonts`` that can play ``programs`` (and a drum kit), in order; each one skipped is
    named with its reason in a warning, so a drum-only or partial font never stands in for a
    General MIDI one."""
    wanted = frozenset(programs)
    kept = []
    for font in fonts:
        try:
            why = missing_presets(font, wanted, drums=drums)
        except (UsageError, OSError) as exc:
            why = str(exc)
        if why:
            logger.warning("skipped soundfont %s: %s", font, why)
        else:
            kept.append(font)
    return kept


def installed_soundfonts(*, sf3: bool = True) -> list[Path]:
    """Installed soundfonts, best first, de-duplicated by their resolved path (any soundfont:
    :func:`general_midi_soundfonts` keeps those that cover what is to be played)."""
    found: dict[Path, Path] = {}
    for folder in SYSTEM_DIRS:
        if folder.is_dir():
            for path in sorted(folder.iterdir()):
                if path.suffix.lower() in SUFFIXES and path.is_file():
                    found.setdefault(path.resolve(), path)
    bundled = bundled_soundfont()
    ranked = sorted(found.values(), key=lambda p: (_rank(p.resolve()), str(p)))
    if bundled is not None and bundled.resolve() not in found:
        ranked.append(bundled)
    if not sf3:
        ranked = [p for p in ranked if p.resolve().suffix.lower() != ".sf3"]
    return ranked


def default_soundfont(*, sf3: bool = True, programs: Iterable[int] = GM_PROGRAMS, drums: bool = True) -> Path:
    """The soundfont used when none is named: ``$MTK_SOUNDFONT``, else the best installed one
    that plays ``programs`` (and a drum kit with ``drums``); UsageError with a hint if none."""
    env = os.environ.get("MTK_SOUNDFONT")
    if env:
        return check_soundfont(env)
    fonts = []
    for path in installed_soundfonts(sf3=sf3):
        try:
            fonts.append(check_soundfont(path))
        except UsageError:
            continue
    usable = general_midi_soundfonts(fonts, programs, drums=drums)
    if usable:
        return usable[0]
    raise UsageError(
        "no General MIDI soundfont found"
        + (f" ({len(fonts)} installed, none with every program needed)" if fonts else ""),
        hint="pip install pretty-midi, or apt-get install fluid-soundfont-gm, or pass --soundfont",
    )


def _rank(path: Path) -> int:
    name = path.name.lower()
    for i, fragment in enumerate(PREFERENCE):
        if fragment in name:
            return i if fragment != "timgm6mb" else len(PREFERENCE) + 1
    return len(PREFERENCE)  # unknown system soundfonts: after the known good ones
