"""Arrangement styles: tempo ranges, MMA grooves per meter, General MIDI programs per part."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Style:
    name: str
    tempo: tuple[int, int]  # beats per minute (quarters, or dotted quarters in compound meters)
    grooves: dict[int, tuple[str, ...]]  # MMA grooves by beats per bar (4 or 3)
    melody: tuple[int, ...]
    chords: tuple[int, ...]
    bass: tuple[int, ...]


# GM programs (0-based): 0 piano, 4 e-piano, 11 vibes, 16 organ, 21 accordion, 22 harmonica,
# 24 nylon gtr, 25 steel gtr, 26 jazz gtr, 27 clean gtr, 28 muted gtr, 29 overdrive, 30 distortion,
# 32 acoustic bass, 33 finger bass, 34 pick bass, 36 slap bass, 38/39 synth bass, 40 violin,
# 48 strings, 50 synth strings, 56 trumpet, 61 brass, 62 synth brass, 65 alto sax, 66 tenor sax,
# 68 oboe, 71 clarinet, 73 flute, 74 recorder, 80 square lead, 81 saw lead, 88/89 pads,
# 105 banjo, 110 fiddle.
STYLES: dict[str, Style] = {
    s.name: s
    for s in (
        Style(
            "rock",
            (100, 140),
            {4: ("BasicRock", "50sRock", "8Beat"), 3: ("RockWaltz",)},
            (29, 30, 27, 81),
            (29, 30, 27),
            (33, 34),
        ),
        Style(
            "pop",
            (90, 124),
            {4: ("PopBallad", "8Beat", "SoftRock1", "Rock128"), 3: ("Waltz",)},
            (0, 4, 81, 73, 65),
            (0, 4, 5),
            (33, 38),
        ),
        Style(
            "ballad",
            (60, 84),
            {4: ("Ballad", "PianoBallad", "RockBallad"), 3: ("Waltz1", "JazzWaltz")},
            (0, 73, 40, 71, 68),
            (0, 48, 88),
            (32, 33),
        ),
        Style(
            "swing",
            (110, 180),
            {4: ("Swing", "JazzCombo", "Swing1"), 3: ("JazzWaltz", "FastJazzWaltz")},
            (65, 66, 56, 11),
            (0, 26),
            (32,),
        ),
        Style(
            "bossa",
            (110, 140),
            {4: ("BossaNova", "BossaNovaPlus"), 3: ("LatinWaltz",)},
            (73, 65, 24, 11),
            (24, 0),
            (32, 33),
        ),
        Style(
            "country",
            (90, 140),
            {4: ("CountrySwing", "SlowCountry", "BlueGrass"), 3: ("CountryWaltz",)},
            (110, 105, 25, 22),
            (25, 24),
            (32, 33),
        ),
        Style(
            "funk", (90, 115), {4: ("BVFunk", "R&B"), 3: ("RockWaltz1",)}, (61, 66, 4, 62), (4, 28, 16), (36, 37, 38)
        ),
        Style(
            "electronic",
            (118, 135),
            {4: ("Trance", "Trance1", "Trance2"), 3: ("RockWaltz",)},
            (80, 81, 62),
            (88, 89, 50),
            (38, 39),
        ),
        Style(
            "folk",
            (80, 120),
            {4: ("FolkRock", "Folk"), 3: ("Waltz", "CountryWaltz1")},
            (73, 110, 22, 24, 71, 74),
            (24, 25, 0, 21),
            (32, 33),
        ),
    )
}

# General MIDI percussion notes -> mtk drum classes.
GM_DRUM_CLASSES: dict[int, str] = {
    35: "kick",
    36: "kick",
    38: "snare",
    40: "snare",
    37: "other",
    39: "clap",
    42: "hihat_closed",
    44: "hihat_closed",
    46: "hihat_open",
    41: "tom_low",
    43: "tom_low",
    45: "tom_mid",
    47: "tom_mid",
    48: "tom_high",
    50: "tom_high",
    49: "crash",
    52: "crash",
    55: "crash",
    57: "crash",
    51: "ride",
    53: "ride",
    59: "ride",
}
# The GM note each class is written as in drums.mid.
CLASS_NOTES = {
    "kick": 36,
    "snare": 38,
    "hihat_closed": 42,
    "hihat_open": 46,
    "tom_low": 43,
    "tom_mid": 47,
    "tom_high": 50,
    "crash": 49,
    "ride": 51,
    "clap": 39,
    "other": 37,
}


def drum_class(note: int) -> str:
    """The mtk class of a GM percussion note (``other`` for the rest of the GM kit)."""
    return GM_DRUM_CLASSES.get(note, "other")


# The kit families (``mtk.corpus.kits.kit_family``) each style is played with, as producers choose
# kits: drawn from these with probability --kit-affinity, else from every kit.
STYLE_KIT_FAMILIES: dict[str, tuple[str, ...]] = {
    "rock": ("acoustic",),
    "pop": ("acoustic", "electronic"),
    "ballad": ("acoustic", "jazz"),
    "swing": ("jazz",),
    "bossa": ("jazz", "percussion"),
    "country": ("acoustic",),
    "funk": ("acoustic", "electronic"),
    "electronic": ("electronic",),
    "folk": ("acoustic", "percussion"),
}

# The classes a song's drum stem is split into (``stems/drums/<class>.wav``): SampleMatch's six
# (hi-hats open and closed together, toms of every size together) and ``other`` (side stick,
# clap and the rest of the GM kit).
STEM_CLASSES = ("kick", "snare", "hihat", "toms", "crash", "ride", "other")
_STEM_OF = {"hihat_closed": "hihat", "hihat_open": "hihat", "tom_low": "toms", "tom_mid": "toms", "tom_high": "toms"}


def stem_class(cls: str) -> str:
    """The stem class (:data:`STEM_CLASSES`) of a kit class (``mtk.corpus.kits.CLASSES``)."""
    cls = _STEM_OF.get(cls, cls)
    return cls if cls in STEM_CLASSES else "other"
