"""Drum one-shots as normalized, classed WAV files with a JSON Lines index, from two sources:

- the installed recorded kits (Hydrogen kits, sonic-pi-samples), every velocity layer;
- the drum kits of installed General MIDI soundfonts (bank 128: Standard, Room, Power,
  Electronic, TR-808, Jazz, Brush, Orchestra), every kit note of :data:`GM_DRUM_CLASSES`
  rendered alone by FluidSynth at :data:`VELOCITIES`, one velocity layer each.

With ``variants``, every kit is also written as that many *variant kits*, each one kit's sound
redesigned as a whole (:func:`variant_params`: tuned up or down, brighter or darker, tighter
or driven): the kits a model hears in training multiply without a new recording, as the
SampleMatch paper's thousands of producers' kits are out of reach. A variant is named ``KIT
(variant N)`` and records ``variant_of``; corpora keep the variants of a held-out kit out of
every split (:func:`variant_base`).

An export folder is itself a set of kits (:func:`load_export_kits`): ``mtk corpus songs
--kits-dir`` drums songs with them, and its files are the candidate pool of ``mtk
rank-samples``. Each record keeps a ``gain`` that restores the file's level before
normalization, so a kit played from its export sounds as balanced as the original.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from mtk.corpus.kits import Kit, KitInstrument, Layer, installed_kits, load_one_shot
from mtk.corpus.soundfonts import DRUM_BANK, preset_headers
from mtk.corpus.styles import GM_DRUM_CLASSES
from mtk.errors import InputError, UsageError
from mtk.io.audio import encode_wav
from mtk.io.files import atomic_write

PEAK = 0.891  # -1 dBFS
INDEX = "index.jsonl"
# The base kit of each General MIDI (GS) drum-kit family in bank 128; numbered variants
# ("Standard 1" ...) mostly repeat their family's samples and are left out.
GM_KIT_PROGRAMS = (0, 8, 16, 24, 25, 32, 40, 48)
VELOCITIES = (40, 80, 120)
NOTE_SPACING_S = 4.0  # room for a crash's tail before the next note
SILENCE_DB = -60.0  # a rendered tail below this (relative to the peak) is cut
# Licences of the soundfonts mtk knows (others: "see the soundfont's package").
SOUNDFONT_LICENCES = {
    "fluidr3_gm": "MIT (fluid-soundfont-gm)",
    "musescore_general": "MIT (musescore-general-soundfont)",
    "timgm6mb": "GPL-2 (timgm6mb-soundfont)",
}


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "sample"


def export_oneshots(
    out: Path,
    *,
    sample_rate: int = 44_100,
    kits: tuple[str, ...] | None = None,
    soundfonts: tuple[str, ...] = (),
    recorded: bool = True,
    variants: int = 0,
    variant_seed: int = 0,
    force: bool = False,
) -> Iterator[dict[str, Any]]:
    """Write ``out/<kit>/<class>/<instrument>-v<layer>.wav`` (trimmed, -1 dBFS peak, stereo).

    Yields one index record per file (kit, class, instrument, velocity layer and range, gain,
    duration, source, licence) and writes them all to ``out/index.jsonl`` at the end.
    ``kits`` chooses recorded kits by name (default: all installed); ``soundfonts`` adds the
    drum kits of these soundfonts; ``recorded=False`` leaves the recorded kits out;
    ``variants`` adds that many variant kits of each kit (drawn from ``variant_seed``).
    """
    records = []
    writer = _Writer(out, sample_rate, force)
    if recorded:
        available = {k.name: k for k in installed_kits(playable_only=False)}
        if not available:
            raise UsageError(
                "no recorded drum kits installed",
                hint="apt-get install hydrogen-data hydrogen-drumkits sonic-pi-samples (or `make corpus-deps`)",
            )
        unknown = [k for k in kits or () if k not in available]
        if unknown:
            raise UsageError(f"unknown kit(s): {', '.join(unknown)}", hint=f"installed: {', '.join(available)}")
        for kit in [available[k] for k in kits] if kits else list(available.values()):
            for record in _recorded_kit(kit, writer):
                records.append(record)
                yield record
    for soundfont in soundfonts:
        for record in _soundfont_kits(Path(soundfont), writer):
            records.append(record)
            yield record
    for record in _variant_kits(list(records), variants, variant_seed, writer):
        records.append(record)
        yield record
    index = "".join(json.dumps(r, sort_keys=True) + "\n" for r in records)
    atomic_write(out / INDEX, index.encode(), force=True)


class _Writer:
    """Writes normalized one-shots once: a sound already written (the same 16-bit samples, as
    when soundfont kits share a sample, or velocity layers differ in level only) is not written
    again; its records name the first file."""

    def __init__(self, out: Path, sample_rate: int, force: bool) -> None:
        self.out, self.sample_rate, self.force = out, sample_rate, force
        self.files: dict[bytes, Path] = {}

    def write(self, rel: Path, y: np.ndarray) -> tuple[Path, float]:
        """``(file written or shared, gain that restores the level before normalization)``."""
        import hashlib

        peak = float(np.abs(y).max(initial=0.0))
        data = encode_wav(y * (PEAK / peak), self.sample_rate)
        key = hashlib.sha1(data).digest()
        if key not in self.files:
            atomic_write(self.out / rel, data, force=self.force)
            self.files[key] = rel
        return self.files[key], peak / PEAK


def _recorded_kit(kit: Kit, writer: _Writer) -> Iterator[dict[str, Any]]:
    for inst in kit.instruments:
        for i, layer in enumerate(inst.layers):
            y = load_one_shot(layer.path, writer.sample_rate)
            if float(np.abs(y).max(initial=0.0)) <= 0:
                continue
            rel, gain = writer.write(Path(_slug(kit.name)) / inst.cls / f"{_slug(inst.name)}-v{i + 1}.wav", y)
            gain *= layer.gain * inst.gain
            yield {
                "file": str(rel),
                "kit": kit.name,
                "class": inst.cls,
                "instrument": inst.name,
                "layer": i + 1,
                "layers": len(inst.layers),
                "velocity": [layer.vmin, layer.vmax],
                "gain": round(gain, 6),
                "duration": round(y.shape[-1] / writer.sample_rate, 4),
                "source": str(layer.path),
                "licence": kit.licence,
            }


def soundfont_licence(soundfont: Path) -> str:
    name = soundfont.name.lower()
    return next((lic for key, lic in SOUNDFONT_LICENCES.items() if key in name), "see the soundfont's package")


def _soundfont_kits(soundfont: Path, writer: _Writer) -> Iterator[dict[str, Any]]:
    """Every kit note of every GM kit family in ``soundfont``, at each of :data:`VELOCITIES`."""
    from pretty_midi import note_number_to_drum_name

    from mtk.corpus.render import render_midi
    from mtk.corpus.soundfonts import check_soundfont

    check_soundfont(soundfont)
    names = drum_kit_presets(soundfont)
    notes = sorted(GM_DRUM_CLASSES)
    edges = [0.0, *((a + b) / 2 / 127 for a, b in zip(VELOCITIES, VELOCITIES[1:], strict=False)), 1.0]
    for program in GM_KIT_PROGRAMS:
        if program not in names:
            continue
        kit_name = f"{soundfont.stem} {names[program]}"
        audio = render_midi(
            _kit_midi(program, notes),
            soundfont=soundfont,
            synth="fluidsynth",
            sample_rate=writer.sample_rate,
            limit=False,
        ).audio
        step = int(NOTE_SPACING_S * writer.sample_rate)
        for n, note in enumerate(notes):
            for v, velocity in enumerate(VELOCITIES):
                start = (n * len(VELOCITIES) + v) * step
                y = _trimmed(audio[:, start : start + step])
                if y is None:
                    continue  # the kit has no sound for this note
                instrument = note_number_to_drum_name(note) or f"note {note}"
                rel, gain = writer.write(
                    Path(_slug(kit_name)) / GM_DRUM_CLASSES[note] / f"{_slug(instrument)}-v{v + 1}.wav", y
                )
                yield {
                    "file": str(rel),
                    "kit": kit_name,
                    "class": GM_DRUM_CLASSES[note],
                    "instrument": instrument,
                    "layer": v + 1,
                    "layers": len(VELOCITIES),
                    "velocity": [round(edges[v], 4), round(edges[v + 1], 4)],
                    "gain": round(gain, 6),
                    "duration": round(y.shape[-1] / writer.sample_rate, 4),
                    "source": f"soundfont:{soundfont.name}#bank128:program{program}:note{note}:velocity{velocity}",
                    "soundfont": soundfont.name,
                    "licence": soundfont_licence(soundfont),
                }


def _kit_midi(program: int, notes: list[int]) -> bytes:
    """One note every :data:`NOTE_SPACING_S` on the drum channel, for each note and velocity."""
    import mido

    midi = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack()
    midi.tracks.append(track)
    track.append(mido.MetaMessage("set_tempo", tempo=500_000, time=0))  # 120 bpm: a beat is 0.5 s
    track.append(mido.Message("program_change", channel=9, program=program, time=0))
    ticks = int(NOTE_SPACING_S * 2 * 480)
    pending = 0
    for note in notes:
        for velocity in VELOCITIES:
            track.append(mido.Message("note_on", channel=9, note=note, velocity=velocity, time=pending))
            track.append(mido.Message("note_off", channel=9, note=note, velocity=0, time=ticks // 2))
            pending = ticks - ticks // 2
    buf = io.BytesIO()
    midi.save(file=buf)
    return buf.getvalue()


def _trimmed(y: np.ndarray) -> np.ndarray | None:
    """A rendered note from its onset to where it falls below :data:`SILENCE_DB`, faded out
    over its last 10 ms; None when it is silent."""
    env = np.abs(y).max(axis=0)
    peak = float(env.max(initial=0.0))
    if peak < 1e-4:
        return None
    loud = np.flatnonzero(env > peak * 10 ** (SILENCE_DB / 20))
    start = int(np.argmax(env > 0.01 * peak))
    y = np.array(y[:, start : loud[-1] + 1], dtype=np.float32)
    fade = min(y.shape[-1], 441)
    y[:, -fade:] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
    return y


VARIANT = re.compile(r"^(.*) \(variant \d+\)$")


def variant_base(kit: str) -> str:
    """The kit a variant kit was made from (``"X (variant 2)"`` -> ``"X"``); a kit's own name
    otherwise."""
    match = VARIANT.match(kit)
    return match.group(1) if match else kit


def variant_params(kit: str, n: int, seed: int = 0) -> dict[str, float]:
    """The redesign of variant ``n`` of ``kit``, the same for all its sounds: a tuning in
    semitones (-4 to +4, as a sampler's pitch knob: the sound gets shorter as it gets higher),
    a 2nd-order low-pass (2-14 kHz) or high-pass (40-400 Hz) or neither, a tighter decay (an
    exponential envelope after the first 10 ms, time constant 0.06-0.6 s) half the time, and
    tanh drive (gain 1.5-4) a third of the time; 0 means off."""
    import zlib

    rng = np.random.default_rng([seed, n, zlib.crc32(kit.encode())])
    tone = rng.choice(["low-pass", "high-pass", "none"])
    draws = rng.uniform(size=6)
    return {
        "semitones": round(float(-4 + 8 * draws[0]), 3),
        "lowpass_hz": round(float(2000 * 7 ** draws[1]), 1) if tone == "low-pass" else 0.0,
        "highpass_hz": round(float(40 * 10 ** draws[2]), 1) if tone == "high-pass" else 0.0,
        "decay_s": round(float(0.06 * 10 ** draws[3]), 4) if draws[4] < 0.5 else 0.0,
        "drive": round(float(1.5 + 2.5 * rng.uniform()), 3) if draws[5] < 1 / 3 else 0.0,
    }


def redesign(y: np.ndarray, sr: int, params: dict[str, float]) -> np.ndarray:
    """``y`` (channels, samples) through :func:`variant_params`' chain, trimmed like a rendered note."""
    import librosa
    from scipy.signal import butter, sosfilt

    y = librosa.resample(np.asarray(y, np.float32), orig_sr=sr * 2 ** (params["semitones"] / 12), target_sr=sr)
    for key, kind in (("lowpass_hz", "lowpass"), ("highpass_hz", "highpass")):
        if params[key] and (kind == "highpass" or params[key] < sr / 2):  # a low-pass above Nyquist passes all
            y = sosfilt(butter(2, params[key], btype=kind, fs=sr, output="sos"), y, axis=-1)
    if params["decay_s"]:
        t = np.arange(y.shape[-1]) / sr
        y = y * np.exp(-np.maximum(t - 0.01, 0.0) / params["decay_s"])
    if params["drive"]:
        y = np.tanh(params["drive"] * y) / np.tanh(params["drive"])
    return _trimmed(np.asarray(y, np.float32))  # type: ignore[return-value]


def _variant_kits(records: list[dict[str, Any]], count: int, seed: int, writer: _Writer) -> Iterator[dict[str, Any]]:
    """:data:`variants` of every kit of ``records``: each file redesigned once per variant, its
    records repeated with the new file, kit and gain."""
    from mtk.io.audio import read_audio

    kits: dict[str, list[dict[str, Any]]] = {}
    for r in records:
        kits.setdefault(r["kit"], []).append(r)
    for kit, rows in kits.items():
        for n in range(1, count + 1):
            name, params = f"{kit} (variant {n})", variant_params(kit, n, seed)
            done: dict[str, tuple[Path, float, float] | None] = {}
            taken: set[Path] = set()
            for r in rows:
                if r["file"] not in done:
                    y, _ = read_audio(writer.out / r["file"], sr=writer.sample_rate)
                    y = redesign(y, writer.sample_rate, params)
                    # the file's place under the variant's folder (a shared file: under its first kit's)
                    rel = _unused(Path(_slug(name), *Path(r["file"]).parts[1:]), taken)
                    taken.add(rel)
                    done[r["file"]] = None if y is None else (*writer.write(rel, y), y.shape[-1] / writer.sample_rate)
                if done[r["file"]] is None:
                    continue
                rel, gain, duration = done[r["file"]]  # type: ignore[misc]
                yield {
                    **r,
                    "file": str(rel),
                    "kit": name,
                    "gain": round(r["gain"] * gain, 6),
                    "duration": round(duration, 4),
                    "variant_of": kit,
                    "variant": params,
                }


def _unused(rel: Path, taken: set[Path]) -> Path:
    """``rel``, or ``rel`` with ``-2``, ``-3``... before its suffix when taken (two files of one
    kit with one name: a kit's records may name other kits' files, see :class:`_Writer`)."""
    n, out = 1, rel
    while out in taken:
        n += 1
        out = rel.with_name(f"{rel.stem}-{n}{rel.suffix}")
    return out


def drum_kit_presets(soundfont: Path) -> dict[int, str]:
    """Program -> name of the soundfont's bank-128 (drum kit) presets."""
    return {p: name for (bank, p), name in sorted(preset_headers(soundfont).items()) if bank == DRUM_BANK}


def read_index(folder: str | Path) -> list[dict[str, Any]]:
    """The records of an export's ``index.jsonl``, each checked for what its readers use (file,
    kit, class and instrument as text, a velocity range of two numbers)."""
    index = Path(folder) / INDEX
    try:
        lines = index.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(
            f"{index}: cannot read the one-shot index ({exc})", hint="build it with `mtk corpus oneshots`"
        ) from None
    records = []
    for n, line in enumerate(lines, 1):
        try:
            r = json.loads(line)
            if not all(isinstance(r.get(k), str) for k in ("file", "kit", "class", "instrument")):
                raise ValueError("file, kit, class and instrument are text")
            r["velocity"] = [float(v) for v in r["velocity"]]
            if len(r["velocity"]) != 2:
                raise ValueError("velocity is a range of two numbers")
            r["gain"] = float(r.get("gain", 1.0))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise InputError(f"{index}, line {n}: not a one-shot record ({exc})") from None
        records.append(r)
    return records


@lru_cache(maxsize=8)
def load_export_kits(folder: Path) -> tuple[Kit, ...]:
    """The kits of an export folder (its ``index.jsonl``), each instrument's layers with their
    velocity ranges and restoring gains, sorted by kit name."""
    kits: dict[str, Kit] = {}
    instruments: dict[tuple[str, str], KitInstrument] = {}
    for r in read_index(folder):
        kit = kits.setdefault(r["kit"], Kit(r["kit"], f"oneshots:{folder}", str(r.get("licence", ""))))
        key = (r["kit"], r["instrument"])
        if key not in instruments:
            instruments[key] = KitInstrument(r["instrument"], r["class"], [])
            kit.instruments.append(instruments[key])
        vmin, vmax = r["velocity"]
        instruments[key].layers.append(Layer(folder / r["file"], vmin, vmax, r["gain"]))
    for inst in instruments.values():
        inst.layers.sort(key=lambda lay: (lay.vmin, lay.vmax))
    return tuple(sorted(kits.values(), key=lambda k: k.name))
