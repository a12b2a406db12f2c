"""Recorded drum kits installed by Debian packages, read into classed one-shots.

Sources: Hydrogen kits (``hydrogen-data``: GMRockKit; ``hydrogen-drumkits``: 14 more), each
described by a ``drumkit.xml``, and the acoustic drum hits of ``sonic-pi-samples`` (CC0).
Instruments are classed by their *name* (GM note numbers in kit files are unreliable);
velocity layers keep their [min, max] velocity range.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from mtk.io.audio import read_audio

HYDROGEN_DIRS = (Path("/usr/share/hydrogen/data/drumkits"), Path("/usr/local/share/hydrogen/data/drumkits"))
SONIC_PI_DIR = Path("/usr/share/sonic-pi/samples")
CLASSES = (
    "kick",
    "snare",
    "hihat_closed",
    "hihat_open",
    "tom_low",
    "tom_mid",
    "tom_high",
    "crash",
    "ride",
    "clap",
    "other",
)
# A kit must have these to drum a song; other classes fall back (see FALLBACK).
REQUIRED = ("kick", "snare", "hihat_closed")
FALLBACK = {
    "hihat_open": "hihat_closed",
    "tom_low": "tom_mid",
    "tom_mid": "tom_high",
    "tom_high": "tom_mid",
    "crash": "ride",
    "ride": "hihat_closed",
    "clap": "snare",
}

# Name patterns, tried in order (first match wins).
_RULES: list[tuple[str, str]] = [
    (r"clap", "clap"),
    (r"tambourine|shaker|cowbell", "other"),  # hand percussion, even when foot-played ("Tambourine Pedal")
    (r"(hi[- ]?hat|\bhh\b|hat\b|\bohh\b).*(open|opened|\bop\b|semi)|(open|semi).*(hat|\bhh\b)|\bohh\b", "hihat_open"),
    (r"hi[- ]?hat|\bhh\b|\bhat\b|hats?\b|pedal", "hihat_closed"),
    (r"kick|bass ?drum|\bbd\b|bassdrum", "kick"),
    (r"side ?stick|\bstick\b|rim ?click", "other"),
    (r"snare|\bsn\b", "snare"),
    (r"floor|\btom.*\b(low|lo)\b|\b(low|lo)\b.*\btom", "tom_low"),
    (r"\btom.*(hi|high|\b1\b)|\b(hi|high)\b.*\btom", "tom_high"),
    (r"\btom", "tom_mid"),
    (r"ride", "ride"),
    (r"crash|splash|china|cymbal", "crash"),
]


# Instruments that are another way of playing their class's drum, not its plain stick hit: the
# foot-played pedal hi-hat chick, a hi-hat swish or choke, a snare roll (many onsets in one sample).
# A song plays them only where a kit has nothing else for the class (see Kit.standard_by_class).
ARTICULATION = re.compile(r"pedal|\bfoot\b|\bpd\b|swish|choke|\broll\b")


# A kit's family, from its name (first match wins; else "acoustic"): what a style prefers
# (:data:`mtk.corpus.styles.STYLE_KIT_FAMILIES`) when a corpus is built with --kit-affinity.
_FAMILIES = (
    (re.compile(r"808|electr|techno|\bedm\b"), "electronic"),
    (re.compile(r"jazz|brush"), "jazz"),
    (re.compile(r"orchestra|marching|afrique|hand\b"), "percussion"),
)


def kit_family(name: str) -> str:
    """``electronic``, ``jazz``, ``percussion`` or ``acoustic``: the kind of kit ``name`` is."""
    low = name.lower()
    return next((family for pattern, family in _FAMILIES if pattern.search(low)), "acoustic")


def classify(name: str) -> str:
    """The drum class of a kit instrument, from its name (``other`` when unknown)."""
    low = name.lower()
    for pattern, cls in _RULES:
        if re.search(pattern, low):
            return cls
    return "other"


@dataclass(frozen=True)
class Layer:
    """One sample file, played for velocities in [vmin, vmax] (0..1)."""

    path: Path
    vmin: float = 0.0
    vmax: float = 1.0
    gain: float = 1.0


@dataclass
class KitInstrument:
    name: str
    cls: str
    layers: list[Layer]
    gain: float = 1.0

    def layer_for(self, velocity: float) -> Layer:
        """The layer covering ``velocity`` (0..1), else the nearest one."""
        for layer in self.layers:
            if layer.vmin <= velocity <= layer.vmax:
                return layer
        return min(self.layers, key=lambda lay: min(abs(velocity - lay.vmin), abs(velocity - lay.vmax)))


@dataclass
class Kit:
    """A recorded kit: instruments grouped by class, with its licence and source."""

    name: str
    source: str
    licence: str
    instruments: list[KitInstrument] = field(default_factory=list)

    def by_class(self) -> dict[str, list[KitInstrument]]:
        out: dict[str, list[KitInstrument]] = {}
        for inst in self.instruments:
            out.setdefault(inst.cls, []).append(inst)
        return out

    def standard_by_class(self) -> dict[str, list[KitInstrument]]:
        """Per class, the instruments a song plays for it: the plain hits, leaving out
        articulations (:data:`ARTICULATION`) unless the class has nothing else."""
        out = {}
        for cls, insts in self.by_class().items():
            plain = [i for i in insts if not ARTICULATION.search(i.name.lower())]
            out[cls] = plain or insts
        return out

    @property
    def playable(self) -> bool:
        """True when the kit has what a song's drum part needs."""
        classes = self.by_class()
        return all(c in classes for c in REQUIRED)

    def resolve_class(self, cls: str) -> str | None:
        """The class actually played for ``cls`` (itself, or its fallback), or None."""
        classes, seen = self.by_class(), set()
        while cls not in classes:
            if cls in seen or cls not in FALLBACK:
                return None
            seen.add(cls)
            cls = FALLBACK[cls]
        return cls


def _strip_ns(root: ET.Element) -> None:
    for el in root.iter():
        if "}" in el.tag:
            el.tag = el.tag.split("}", 1)[1]


def _float(el: ET.Element | None, default: float) -> float:
    try:
        return float(el.text) if el is not None and el.text else default
    except ValueError:
        return default


def load_hydrogen_kit(folder: Path) -> Kit | None:
    """Read a Hydrogen kit folder (``drumkit.xml``); None when unreadable or empty."""
    try:
        root = ET.parse(folder / "drumkit.xml").getroot()
    except (OSError, ET.ParseError):
        return None
    _strip_ns(root)
    licence = (root.findtext("license") or "").strip() or "GPL-2 (hydrogen-drumkits package)"
    kit = Kit(name=folder.name, source=f"hydrogen:{folder}", licence=licence)
    for inst in root.iter("instrument"):
        name = (inst.findtext("name") or "").strip()
        layers = []
        for lay in inst.iter("layer"):
            fname = lay.findtext("filename")
            if fname and (folder / fname).is_file():
                layers.append(
                    Layer(
                        folder / fname,
                        _float(lay.find("min"), 0.0),
                        _float(lay.find("max"), 1.0),
                        _float(lay.find("gain"), 1.0),
                    )
                )
        fname = inst.findtext("filename")  # older kits: one file per instrument
        if not layers and fname and (folder / fname).is_file():
            layers.append(Layer(folder / fname))
        if name and layers and not name.strip().isdigit():
            layers.sort(key=lambda lay: (lay.vmin, lay.vmax))
            kit.instruments.append(KitInstrument(name, classify(name), layers, _float(inst.find("gain"), 1.0)))
    return kit if kit.instruments else None


_SONIC_PI = {
    "kick": ["drum_bass_soft", "drum_bass_hard"],
    "snare": ["drum_snare_soft", "drum_snare_hard"],
    "hihat_closed": ["drum_cymbal_pedal", "drum_cymbal_closed"],
    "hihat_open": ["drum_cymbal_open"],
    "tom_low": ["drum_tom_lo_soft", "drum_tom_lo_hard"],
    "tom_mid": ["drum_tom_mid_soft", "drum_tom_mid_hard"],
    "tom_high": ["drum_tom_hi_soft", "drum_tom_hi_hard"],
    "crash": ["drum_splash_soft", "drum_splash_hard"],
    "ride": ["drum_cymbal_soft"],
}


def load_sonic_pi_kit(folder: Path = SONIC_PI_DIR) -> Kit | None:
    """The acoustic drum hits of sonic-pi-samples as one kit (soft/hard as two layers)."""
    kit = Kit(name="sonic-pi", source=f"sonic-pi-samples:{folder}", licence="CC0-1.0")
    for cls, names in _SONIC_PI.items():
        paths = [folder / f"{n}.flac" for n in names if (folder / f"{n}.flac").is_file()]
        if not paths:
            continue
        edges = np.linspace(0, 1, len(paths) + 1)
        layers = [Layer(p, float(edges[i]), float(edges[i + 1])) for i, p in enumerate(paths)]
        kit.instruments.append(KitInstrument(names[-1], cls, layers))
    return kit if kit.instruments else None


@lru_cache(maxsize=2)
def installed_kits(*, playable_only: bool = True) -> tuple[Kit, ...]:
    """Installed recorded kits sorted by name: those that can drum a song (kick, snare and
    closed hi-hat), or with ``playable_only=False`` every kit (hand percussion too)."""
    kits: dict[str, Kit] = {}
    for base in HYDROGEN_DIRS:
        if base.is_dir():
            for folder in sorted(base.iterdir()):
                kit = load_hydrogen_kit(folder) if folder.is_dir() else None
                if kit is not None and (kit.playable or not playable_only):
                    kits.setdefault(kit.name, kit)
    sonic = load_sonic_pi_kit() if SONIC_PI_DIR.is_dir() else None
    if sonic is not None and (sonic.playable or not playable_only):
        kits.setdefault(sonic.name, sonic)
    return tuple(sorted(kits.values(), key=lambda k: k.name))


@lru_cache(maxsize=512)
def load_one_shot(path: Path, sr: int) -> np.ndarray:
    """A one-shot as ``(2, samples)`` float32 at ``sr``, leading silence trimmed.

    The onset is put at sample 0 (first sample above 1 % of the peak), so a hit placed at
    time t sounds at t.
    """
    y, _ = read_audio(path, sr=sr)
    y = np.repeat(y, 2, axis=0) if y.shape[0] == 1 else y[:2]
    env = np.abs(y).max(axis=0)
    peak = float(env.max(initial=0.0))
    if peak <= 0:
        return np.zeros((2, 1), np.float32)
    start = int(np.argmax(env > 0.01 * peak))
    return np.ascontiguousarray(y[:, start:], dtype=np.float32)
