"""Find and check General MIDI SoundFonts (SF2/SF3) installed on this machine.

Default choice, best first: ``$MTK_SOUNDFONT``; MuseScore General; FluidR3 GM; other
system soundfonts; TimGM6mb; finally the ``TimGM6mb.sf2`` inside the pretty-midi wheel, so
that ``pip install`` alone can render.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from mtk.errors import UsageError

SYSTEM_DIRS = (
    Path("/usr/share/sounds/sf2"),
    Path("/usr/share/sounds/sf3"),
    Path("/usr/share/soundfonts"),
    Path("/usr/local/share/soundfonts"),
)
# Lower-case name fragments in order of preference (quality and GM completeness).
PREFERENCE = ("musescore_general", "fluidr3_gm", "generaluser", "timgm6mb")
SUFFIXES = (".sf2", ".sf3")


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


def installed_soundfonts(*, sf3: bool = True) -> list[Path]:
    """Installed soundfonts, best first, de-duplicated by their resolved path."""
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


def default_soundfont(*, sf3: bool = True) -> Path:
    """The soundfont used when none is named; UsageError with an install hint if none."""
    env = os.environ.get("MTK_SOUNDFONT")
    if env:
        return check_soundfont(env)
    for path in installed_soundfonts(sf3=sf3):
        try:
            return check_soundfont(path)
        except UsageError:
            continue
    raise UsageError(
        "no General MIDI soundfont found",
        hint="pip install pretty-midi, or apt-get install fluid-soundfont-gm, or pass --soundfont",
    )


def _rank(path: Path) -> int:
    name = path.name.lower()
    for i, fragment in enumerate(PREFERENCE):
        if fragment in name:
            return i if fragment != "timgm6mb" else len(PREFERENCE) + 1
    return len(PREFERENCE)  # unknown system soundfonts: after the known good ones
