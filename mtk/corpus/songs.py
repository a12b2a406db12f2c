"""Build one corpus song: arrange, render each part, sample the drums, mix, write, describe.

A song folder is written under a temporary name and renamed when complete, so a folder
that exists is whole (``--skip-existing`` relies on it). Files: ``mix.wav``,
``stems/{melody,chords,bass,drums}.wav``, ``stems/drums/<class>.wav`` (the drum stem split by
class: kick, snare, hihat, toms, crash, ride, other; only the classes that play), ``drums.wav``,
``drumless.wav``, ``song.mid``, ``drums.mid``, ``meta.json``. The mix is the exact sum of the
stems (all scaled alike), and the drum stem the sum of its class stems.
"""

from __future__ import annotations

import json
import os
import shutil
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from miditoolkit import Instrument, Note

from mtk.corpus.arrange import PARTS, TPB, Arrangement, arrange
from mtk.corpus.kits import Kit, load_one_shot
from mtk.corpus.render import choose_synth, render_midi
from mtk.corpus.styles import CLASS_NOTES, STEM_CLASSES, drum_class, stem_class
from mtk.corpus.works import Work
from mtk.io.audio import encode_wav
from mtk.io.midi import midi_to_bytes

# Target loudness of each part before the final peak normalisation (dBFS RMS), +-1.5 dB.
PART_LEVELS = {"melody": -20.0, "chords": -25.0, "bass": -23.0, "drums": -21.0}
PEAK = 0.891  # -1 dBFS
TAIL_S = 1.5  # release tail kept after the last bar


@dataclass(frozen=True)
class SongPlan:
    """Everything decided before rendering; a worker builds the song from this alone."""

    song_id: str
    work: Work
    version: int
    split: str
    style: str
    soundfont: str
    kit: Kit | None  # None: the soundfont's own drum kit
    seed: int
    sample_rate: int
    max_seconds: float | None
    transpose: int = 0  # semitones before octave adjustment; versions of a work differ in key
    synth: str = "auto"
    band: Band | None = None  # the artist that plays it (its style, sounds and mix); None: drawn per song
    release: str | None = None  # the band's release the song is on
    drum_part: str = "groove"  # where the drum part comes from (mtk.corpus.drumparts.SOURCES)


@dataclass(frozen=True)
class Band:
    """A simulated artist: one style, instrumentation, sound, tempo and mix for all its songs,
    and the label that publishes it (``mtk corpus songs --artists``)."""

    artist_id: str
    name: str
    label: str
    style: str
    programs: tuple[tuple[str, int], ...]  # (part, General MIDI program) for melody, chords, bass
    soundfont: str
    kit: Kit | None
    tempo: float  # quarter notes a minute, within the style's range
    levels: tuple[tuple[str, float], ...]  # dB added to each part's level: the band's mix


@dataclass
class DrumHit:
    time: float
    cls: str
    velocity: int
    note: int
    sample: str


def song_rng(seed: int, work_id: str, version: int) -> np.random.Generator:
    """The song's random generator: a function of the corpus seed, the work and the version."""
    return np.random.default_rng([seed, zlib.crc32(work_id.encode()), version])


def build_song(plan: SongPlan, out_dir: Path, *, versions: dict[str, str]) -> dict[str, Any]:
    """Render ``plan`` into ``out_dir/<song_id>/``; return the song's index record."""
    rng = song_rng(plan.seed, plan.work.work_id, plan.version)
    band = plan.band
    arr = arrange(
        plan.work,
        plan.style,
        rng,
        transpose=plan.transpose,
        max_seconds=plan.max_seconds,
        programs=dict(band.programs) if band else None,
        quarter_bpm=band.tempo if band else None,
        drum_part=plan.drum_part,
        part_rng=np.random.default_rng([plan.seed, zlib.crc32(plan.work.work_id.encode()), plan.version, 28]),
        split=plan.split,
    )
    sr = plan.sample_rate
    length = int(round((arr.seconds + TAIL_S) * sr))
    stems: dict[str, np.ndarray] = {}
    for part in ("melody", "chords", "bass"):
        stems[part] = _fit(_render(arr, (part,), plan, sr), length)
    hits = _drum_hits(arr)
    if plan.kit is None:
        stems["drums"] = _fit(_render(arr, ("drums",), plan, sr), length)
        played = [DrumHit(h.time, h.cls, h.velocity, h.note, f"soundfont:{Path(plan.soundfont).name}") for h in hits]
        drum_classes = _render_drum_classes(arr, plan, sr, stems["drums"])
    else:
        drum_classes, played = _sample_drums(hits, plan.kit, sr, length, rng)
        stems["drums"] = sum(drum_classes.values(), np.zeros((2, length), np.float32))
    levels: dict[str, float | None] = {}
    for part, audio in stems.items():
        rms = active_rms(audio, sr)
        if band is None:
            target = PART_LEVELS[part] + float(rng.uniform(-1.5, 1.5))
        else:  # the band's mix, with a little play from song to song
            target = PART_LEVELS[part] + dict(band.levels)[part] + float(rng.uniform(-0.5, 0.5))
        if rms > 0:
            audio *= np.float32(10 ** (target / 20) / rms)
            if part == "drums":
                for cls_audio in drum_classes.values():
                    cls_audio *= np.float32(10 ** (target / 20) / rms)
        levels[part] = round(target, 2) if rms > 0 else None  # a silent part has no level
    mix = sum(stems.values())
    peak = float(np.abs(mix).max(initial=0.0))
    scale = PEAK / peak if peak > PEAK else 1.0
    for audio in (*stems.values(), *drum_classes.values()):
        audio *= np.float32(scale)
    mix = sum(stems.values())
    drumless = mix - stems["drums"]

    meta = _meta(plan, arr, played, levels, scale, versions)
    final = out_dir / plan.song_id
    tmp = out_dir / f".{plan.song_id}.part"
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "stems" / "drums").mkdir(parents=True)
    try:
        for part, audio in stems.items():
            (tmp / "stems" / f"{part}.wav").write_bytes(encode_wav(audio, sr))
        for cls, audio in drum_classes.items():
            (tmp / "stems" / "drums" / f"{cls}.wav").write_bytes(encode_wav(audio, sr))
        (tmp / "mix.wav").write_bytes(encode_wav(mix, sr))
        (tmp / "drumless.wav").write_bytes(encode_wav(drumless, sr))
        _link_or_copy(tmp / "stems" / "drums.wav", tmp / "drums.wav")
        (tmp / "song.mid").write_bytes(midi_to_bytes(_song_midi(arr, played)))
        (tmp / "drums.mid").write_bytes(midi_to_bytes(_drums_midi(arr, played)))
        (tmp / "meta.json").write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n")
        shutil.rmtree(final, ignore_errors=True)
        os.replace(tmp, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return index_record(meta, final)


def index_record(meta: dict[str, Any], folder: Path) -> dict[str, Any]:
    """The line ``index.jsonl`` (and the command's stdout) carries for one song."""
    return {
        "id": meta["id"],
        "path": str(folder),
        "work_id": meta["work"]["id"],
        "version": meta["version"],
        "split": meta["split"],
        "style": meta["style"],
        "duration": meta["duration"],
        "kit": meta["drums"]["kit"],
        "soundfont": meta["soundfont"]["name"],
        "hits": len(meta["drum_hits"]),
    }


def active_rms(audio: np.ndarray, sr: int, *, frame_s: float = 0.05) -> float:
    """RMS over the frames where the part plays (within 40 dB of its loudest frame)."""
    hop = max(1, int(frame_s * sr))
    n = audio.shape[-1] // hop
    if n == 0:
        return 0.0
    energy = np.square(audio[:, : n * hop]).reshape(audio.shape[0], n, hop).mean(axis=(0, 2))
    active = energy[energy > energy.max() * 1e-4]
    return float(np.sqrt(active.mean())) if active.size else 0.0


def _render(arr: Arrangement, parts: tuple[str, ...], plan: SongPlan, sr: int) -> np.ndarray:
    midi = arr.midi(parts)
    if not any(inst.notes for inst in midi.instruments):
        return np.zeros((2, 0), np.float32)
    return render_midi(
        midi_to_bytes(midi),
        soundfont=plan.soundfont,
        synth=plan.synth,  # type: ignore[arg-type]
        sample_rate=sr,
        limit=False,
    ).audio


def _fit(audio: np.ndarray, length: int) -> np.ndarray:
    out = np.zeros((2, length), np.float32)
    n = min(length, audio.shape[-1])
    out[:, :n] = audio[:, :n]
    return out


def _seconds(tick: int, arr: Arrangement) -> float:
    return tick / TPB * 60.0 / arr.quarter_bpm


def _drum_hits(arr: Arrangement) -> list[DrumHit]:
    hits = [
        DrumHit(round(_seconds(n.start, arr), 6), drum_class(n.pitch), int(n.velocity), int(n.pitch), "")
        for inst in arr.parts.get("drums", [])
        for n in inst.notes
    ]
    return sorted(hits, key=lambda h: (h.time, h.note))


def _render_drum_classes(arr: Arrangement, plan: SongPlan, sr: int, drums: np.ndarray) -> dict[str, np.ndarray]:
    """The soundfont-drummed stem split by class: each class's notes rendered alone, and
    ``other`` the rest of ``drums`` (whatever the classes' renders do not sum to), so the
    class stems sum to the drum stem exactly. Silent classes are left out."""
    out: dict[str, np.ndarray] = {}
    for cls in STEM_CLASSES[:-1]:
        part = arr.midi(())  # tempo and meter, no instruments
        for inst in arr.parts.get("drums", []):
            notes = [n for n in inst.notes if stem_class(drum_class(n.pitch)) == cls]
            if notes:
                part.instruments.append(Instrument(inst.program, inst.is_drum, inst.name, notes=notes))
        if part.instruments:
            audio = render_midi(
                midi_to_bytes(part),
                soundfont=plan.soundfont,
                synth=plan.synth,  # type: ignore[arg-type]
                sample_rate=sr,
                limit=False,
            ).audio
            out[cls] = _fit(audio, drums.shape[-1])
    rest = drums - sum(out.values(), np.zeros_like(drums))
    if np.abs(rest).max(initial=0.0) > 1e-4 * max(np.abs(drums).max(initial=0.0), 1e-9):
        out["other"] = rest
    elif out:  # float rounding only: fold it into the loudest class so the sum stays exact
        loudest = max(out, key=lambda c: float(np.abs(out[c]).max()))
        out[loudest] += rest
    return out


def _sample_drums(
    hits: list[DrumHit], kit: Kit, sr: int, length: int, rng: np.random.Generator
) -> tuple[dict[str, np.ndarray], list[DrumHit]]:
    """Place the kit's one-shots at every hit: one of the kit's plain hits per class for the
    whole song (:meth:`Kit.standard_by_class`); velocity picks the layer and scales the gain.
    Returns the drum stem by stem class (:data:`STEM_CLASSES`, silent ones left out)."""
    by_class = kit.standard_by_class()
    chosen = {cls: insts[int(rng.integers(len(insts)))] for cls, insts in sorted(by_class.items())}
    sticks = [inst for inst in by_class.get("other", []) if "stick" in inst.name.lower()]
    if sticks:
        chosen["other"] = sticks[0]  # the only "other" a kit plays: side stick (GM 37)
    else:
        chosen.pop("other", None)
    out: dict[str, np.ndarray] = {}
    played = []
    for hit in hits:
        if hit.cls == "other" and hit.note != 37:
            continue  # GM percussion beyond the kit (shakers, tambourines ...): not played by a drum kit
        cls = kit.resolve_class(hit.cls)
        if cls is None or cls not in chosen:
            continue
        inst = chosen[cls]
        layer = inst.layer_for(hit.velocity / 127)
        shot = load_one_shot(layer.path, sr)
        start = int(round(hit.time * sr))
        if start >= length:
            continue
        n = min(shot.shape[-1], length - start)
        gain = (hit.velocity / 127) * layer.gain * inst.gain
        stem = out.setdefault(stem_class(cls), np.zeros((2, length), np.float32))
        stem[:, start : start + n] += gain * shot[:, :n]
        played.append(DrumHit(hit.time, cls, hit.velocity, hit.note, str(layer.path)))
    return {cls: out[cls] for cls in STEM_CLASSES if cls in out}, played


def _song_midi(arr: Arrangement, played: list[DrumHit]) -> Any:
    """The arrangement as MIDI, its drum part reduced to the hits that sound (a sampled kit
    plays no GM percussion beyond the kit, e.g. tambourines), so song.mid, drums.mid,
    drum_hits and the audio agree; no drum track when nothing sounds."""
    midi = arr.midi()
    sounding = {(h.time, h.note) for h in played}
    keep = []
    for inst in midi.instruments:
        if inst.is_drum:
            notes = [n for n in inst.notes if (round(_seconds(n.start, arr), 6), int(n.pitch)) in sounding]
            if not notes:
                continue
            inst = Instrument(inst.program, inst.is_drum, inst.name, notes=notes)
        keep.append(inst)
    midi.instruments = keep
    return midi


def _drums_midi(arr: Arrangement, played: list[DrumHit]) -> Any:
    midi = arr.midi(())
    inst = Instrument(program=0, is_drum=True, name="drums")
    for h in played:
        tick = int(round(h.time * arr.quarter_bpm / 60.0 * TPB))
        inst.notes.append(Note(h.velocity, CLASS_NOTES[h.cls], tick, tick + TPB // 8))
    midi.instruments = [inst]
    return midi


def _link_or_copy(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


def _drums_meta(plan: SongPlan, played: list[DrumHit]) -> dict[str, Any]:
    """Who drums: the soundfont's kit, a sampled kit, or (no hit sounds) nobody."""
    if not played:
        return {"mode": "none", "kit": None, "licence": None}
    if plan.kit is None:
        return {"mode": "soundfont", "kit": f"soundfont:{Path(plan.soundfont).name}", "licence": "soundfont"}
    return {"mode": "sampler", "kit": plan.kit.name, "licence": plan.kit.licence}


def _credits(plan: SongPlan) -> dict[str, Any]:
    """Who plays the song, on which release, for which label (songs of a band only)."""
    if plan.band is None:
        return {}
    return {
        "artist": {"id": plan.band.artist_id, "name": plan.band.name},
        "release": {"id": plan.release},
        "label": {"id": plan.band.label},
    }


def _meta(
    plan: SongPlan,
    arr: Arrangement,
    played: list[DrumHit],
    levels: dict[str, float | None],
    scale: float,
    versions: dict[str, str],
) -> dict[str, Any]:
    work = plan.work
    beat_s = arr.bar_seconds / arr.beats_per_bar
    bar_s = arr.bar_seconds
    return {
        "id": plan.song_id,
        "work": {
            "id": work.work_id,
            "ref": work.ref.ref_id,
            "source": work.ref.source,
            "path": work.ref.path,
            "title": work.title,
            "licence": work.licence,
        },
        "version": plan.version,
        "split": plan.split,
        "style": arr.style,
        "groove": arr.groove,
        "tempo": arr.bpm,
        "beat_seconds": round(beat_s, 6),
        "meter": f"{arr.meter[0]}/{arr.meter[1]}",
        "source_meter": f"{work.source_meter[0]}/{work.source_meter[1]}",
        "key": arr.key,
        "transpose": arr.transpose,
        "n_bars": arr.n_bars,
        "duration": round(arr.seconds + TAIL_S, 6),
        "music_seconds": round(arr.seconds, 6),
        "beats": arr.beat_times(),
        "downbeats": arr.downbeat_times(),
        "phrases": [
            {
                "start": round(a * bar_s, 6),
                "end": round(min(b, arr.n_bars) * bar_s, 6),
                "first_bar": a,
                "end_bar": min(b, arr.n_bars),
                "label": label,
            }
            for a, b, label in work.phrases
            if a < arr.n_bars
        ],
        "chords": [{"time": round(c.start * 60 / arr.quarter_bpm, 6), "name": c.name} for c in arr.chords],
        "programs": arr.programs,
        "parts": list(PARTS),
        "soundfont": {"name": Path(plan.soundfont).name, "path": plan.soundfont},
        "synth": choose_synth(plan.synth),  # type: ignore[arg-type]  # the engine that rendered it
        "drums": _drums_meta(plan, played),
        "drum_part": arr.drum_part,
        "drum_hits": [
            {"time": h.time, "class": h.cls, "velocity": h.velocity, "note": h.note, "sample": h.sample} for h in played
        ],
        **_credits(plan),
        "levels_dbfs": levels,
        "mix_scale": round(scale, 6),
        "sample_rate": plan.sample_rate,
        "seed": plan.seed,
        "versions": versions,
    }
