"""Render MIDI to audio through a SoundFont synthesizer.

Three engines:
- ``fluidsynth``: the FluidSynth program (Debian ``fluidsynth``), run headless with reverb
  and chorus off, float output, so stems sum to the mix.
- ``builtin``: midirenderer (a pure wheel, no system library), so ``pip install`` alone
  renders. It has no reverb switch and renders SF2 only.
- ``timidity``: the TiMidity++ program (Debian ``timidity``), another synthesis engine over the
  same SoundFont (its own envelopes, interpolation and mixing), reverb and chorus off, 24-bit
  output; SF2 only. Versions rendered by another engine differ in production, not in notes.
``auto`` takes FluidSynth when installed. Levels are matched: the other engines' output is
scaled so the same ``gain`` gives about the same loudness as FluidSynth (measured on
examples/ode_to_joy.mid with FluidR3_GM at equal settings: builtin is 6.5 dB quieter,
TiMidity++ 2.4 dB quieter).
"""

from __future__ import annotations

import io
import logging
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Literal

import numpy as np

from mtk.corpus.soundfonts import check_soundfont, default_soundfont, missing_presets
from mtk.errors import InputError, MtkError, UsageError
from mtk.io.audio import decode_audio, resample
from mtk.io.midi import checked_smf, midi_seconds, parse_midi

Synth = Literal["auto", "fluidsynth", "builtin", "timidity"]
SYNTHS = ("auto", "fluidsynth", "builtin", "timidity")
BUILTIN_RATE = 48_000
BUILTIN_LEVEL = 2.1  # linear factor matching midirenderer's level to FluidSynth's (see above)
TIMIDITY_LEVEL = 1.32  # the same for TiMidity++ (2.4 dB)
PEAK_LIMIT = 0.989  # -0.1 dBFS: louder renders are scaled down as a whole (mix and stems)
DRUM_CHANNEL = 9
logger = logging.getLogger(__name__)
MAX_SECONDS = 3 * 3600  # longer renders are refused: 3 h of stereo float32 at 44.1 kHz is 3.8 GB


@dataclass
class Rendering:
    """A rendered MIDI file: stereo audio ``(2, samples)`` float32 and optional stems."""

    audio: np.ndarray
    sample_rate: int
    soundfont: Path
    synth: str
    headroom_db: float = 0.0
    stems: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.audio.shape[-1] / self.sample_rate

    def to_dict(self) -> dict[str, object]:
        """Facts about the rendering for a JSON record (no samples)."""
        return {
            "soundfont": str(self.soundfont),
            "synth": self.synth,
            "sample_rate": self.sample_rate,
            "duration": round(self.duration, 3),
            "headroom_db": round(self.headroom_db, 2),
        }


def fluidsynth_executable() -> str | None:
    """Path of the ``fluidsynth`` program, or None when it is not installed."""
    return shutil.which("fluidsynth")


def choose_synth(synth: Synth) -> str:
    """Resolve ``auto`` and check that the asked-for engine is there."""
    if synth not in SYNTHS:
        raise UsageError(f"unknown synth {synth!r}", hint="use auto, fluidsynth, builtin or timidity")
    if synth == "fluidsynth" and fluidsynth_executable() is None:
        raise UsageError(
            "fluidsynth is not installed",
            hint="apt-get install fluidsynth (or `make fluidsynth`), or use --synth builtin",
        )
    if synth == "timidity" and shutil.which("timidity") is None:
        raise UsageError("timidity is not installed", hint="apt-get install timidity, or use --synth builtin")
    if synth == "auto":
        return "fluidsynth" if fluidsynth_executable() else "builtin"
    return synth


def render_midi(
    midi_bytes: bytes,
    *,
    soundfont: str | os.PathLike[str] | None = None,
    synth: Synth = "auto",
    sample_rate: int = 44_100,
    gain: float = 1.0,
    stems: bool = False,
    limit: bool = True,
    name: str = "-",
) -> Rendering:
    """Render Standard MIDI File bytes to stereo audio.

    Args:
        midi_bytes: the MIDI file's bytes (validated: must parse and hold notes).
        soundfont: an .sf2/.sf3 path; None picks the best installed General MIDI soundfont.
        synth: ``auto``, ``fluidsynth``, ``builtin`` or ``timidity``.
        sample_rate: output rate in Hz.
        gain: linear synth gain (FluidSynth's ``-g``); renders that would clip are scaled
            down as a whole to -0.1 dBFS and ``headroom_db`` says by how much.
        stems: also render each MIDI channel on its own (``Rendering.stems``, keyed
            ``chNN-<instrument>``); stems and mix share one length and one scale.
        limit: scale renders that would clip down to -0.1 dBFS (off: raw synth levels, for
            callers that mix several renders themselves).
        name: the input's name for messages.

    Raises:
        InputError: not a MIDI file, corrupt, no notes, or longer than :data:`MAX_SECONDS`.
        UsageError: bad soundfont, unknown or missing synth, bad rate or gain.
    """
    midi_bytes = checked_smf(midi_bytes, name=name)
    midi = parse_midi(midi_bytes, name=name, require_notes=True)
    played = [inst for inst in midi.instruments if inst.notes]
    programs = {int(inst.program) for inst in played if not inst.is_drum}
    drums = any(inst.is_drum for inst in played)
    seconds = midi_seconds(midi_bytes)
    if seconds > MAX_SECONDS:
        raise InputError(
            f"{name}: the MIDI file lasts {seconds / 3600:.3g} h; mtk render renders up to {MAX_SECONDS // 3600} h",
            hint="a damaged delta time can push an event hours away",
        )
    if not 8_000 <= sample_rate <= 192_000:
        raise UsageError(f"sample rate {sample_rate} out of range", hint="use 8000 to 192000 Hz")
    if not 0.0 < gain <= 10.0:
        raise UsageError(f"gain {gain:g} out of range", hint="use a value in (0, 10]")
    engine = choose_synth(synth)
    if soundfont is not None:
        sf = check_soundfont(soundfont)
        lacking = missing_presets(sf, programs, drums=drums)
        if lacking:  # the user's choice stands, but FluidSynth will substitute its first preset
            logger.warning("%s: soundfont %s %s: those parts play on a substitute", name, sf.name, lacking)
    else:
        sf = default_soundfont(sf3=engine != "builtin", programs=programs, drums=drums)
    if engine in ("builtin", "timidity") and sf.resolve().suffix.lower() == ".sf3":
        raise UsageError(f"{sf}: the {engine} synth reads SF2 only", hint="use --synth fluidsynth or an .sf2")

    def run(data: bytes) -> np.ndarray:
        if engine == "fluidsynth":
            return _render_fluidsynth(data, sf, sample_rate, gain)
        if engine == "timidity":
            return _render_timidity(data, sf, sample_rate, gain)
        return _render_builtin(data, sf, sample_rate, gain)

    mix = run(midi_bytes)
    parts = {label: run(data) for label, data in split_channels(midi_bytes)} if stems else {}
    length = max([mix.shape[-1], *(p.shape[-1] for p in parts.values())])
    mix = _pad(mix, length)
    parts = {k: _pad(v, length) for k, v in parts.items()}
    peak = float(np.abs(mix).max(initial=0.0))
    scale = PEAK_LIMIT / peak if limit and peak > PEAK_LIMIT else 1.0
    if scale != 1.0:
        mix *= scale
        for part in parts.values():
            part *= scale
    return Rendering(
        audio=mix,
        sample_rate=sample_rate,
        soundfont=sf,
        synth=engine,
        headroom_db=float(20 * np.log10(scale)),
        stems=parts,
    )


def split_channels(midi_bytes: bytes) -> list[tuple[str, bytes]]:
    """One MIDI file per used channel: its channel messages plus all meta/sysex events.

    Returns ``(label, bytes)`` pairs in channel order, labelled ``chNN-<instrument>`` with
    NN counted from 1 as musicians do (channel 10 is ``ch10-drums``).
    """
    import mido

    source = mido.MidiFile(file=io.BytesIO(midi_bytes))
    used = sorted({m.channel for t in source.tracks for m in t if m.type == "note_on" and m.velocity > 0})
    out = []
    for channel in used:
        stem = mido.MidiFile(type=source.type if source.type != 2 else 1, ticks_per_beat=source.ticks_per_beat)
        for track in source.tracks:
            new, pending = mido.MidiTrack(), 0
            for msg in track:
                pending += msg.time
                if not hasattr(msg, "channel") or msg.channel == channel:
                    new.append(msg.copy(time=pending))
                    pending = 0
            stem.tracks.append(new)
        buf = io.BytesIO()
        stem.save(file=buf)
        out.append((f"ch{channel + 1:02d}-{_instrument_label(source, channel)}", buf.getvalue()))
    return out


def _instrument_label(midi: object, channel: int) -> str:
    if channel == DRUM_CHANNEL:
        return "drums"
    from pretty_midi import program_to_instrument_name

    program = next(
        (m.program for t in midi.tracks for m in t if m.type == "program_change" and m.channel == channel),
        0,
    )
    return re.sub(r"[^a-z0-9]+", "-", program_to_instrument_name(program).lower()).strip("-")


def fluidsynth_command(sf: Path, midi: Path, wav: Path, *, sample_rate: int = 44_100, gain: float = 1.0) -> list[str]:
    """The headless FluidSynth call mtk renders with: reverb and chorus off, float WAV out."""
    exe = fluidsynth_executable()
    if exe is None:
        raise UsageError("fluidsynth is not installed", hint="apt-get install fluidsynth (or `make fluidsynth`)")
    cmd = [exe, "-ni", "-q", "-g", f"{gain:g}", "-R", "0", "-C", "0", "-r", str(sample_rate)]
    cmd += ["-O", "float", "-T", "wav", "-F", str(wav)]
    if sf.resolve().suffix.lower() == ".sf3":
        cmd += ["-o", "synth.dynamic-sample-loading=1"]
    return [*cmd, str(sf), str(midi)]


def _render_fluidsynth(midi_bytes: bytes, sf: Path, sample_rate: int, gain: float) -> np.ndarray:
    with tempfile.TemporaryDirectory(prefix="mtk-render-") as tmp:
        mid, wav = Path(tmp, "in.mid"), Path(tmp, "out.wav")
        mid.write_bytes(midi_bytes)
        cmd = fluidsynth_command(sf, mid, wav, sample_rate=sample_rate, gain=gain)
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0 or not wav.is_file():
            detail = (proc.stderr or proc.stdout).strip().splitlines()
            raise MtkError(f"fluidsynth failed ({detail[-1] if detail else f'exit {proc.returncode}'})")
        y, _ = decode_audio(wav.read_bytes(), name="fluidsynth output")
    return _stereo(y)


def _render_timidity(midi_bytes: bytes, sf: Path, sample_rate: int, gain: float) -> np.ndarray:
    """TiMidity++ with a configuration of this one SoundFont (not the system's patch sets)."""
    exe = shutil.which("timidity")
    if exe is None:
        raise UsageError("timidity is not installed", hint="apt-get install timidity, or use --synth builtin")
    with tempfile.TemporaryDirectory(prefix="mtk-render-") as tmp:
        mid, wav, cfg = Path(tmp, "in.mid"), Path(tmp, "out.wav"), Path(tmp, "sf.cfg")
        mid.write_bytes(midi_bytes)
        cfg.write_text(f'soundfont "{sf.resolve()}"\n')
        cmd = [exe, "-c", str(cfg), "-idq", "-Ow", "--output-24bit", "-o", str(wav), "-s", str(sample_rate)]
        effects_off = ["--reverb=d", "--chorus=d", "--preserve-silence"]  # and keep the lead-in: notes on time
        proc = subprocess.run([*cmd, *effects_off, str(mid)], capture_output=True, text=True, check=False)
        if proc.returncode != 0 or not wav.is_file():
            detail = (proc.stderr or proc.stdout).strip().splitlines()
            raise MtkError(f"timidity failed ({detail[-1] if detail else f'exit {proc.returncode}'})")
        y, _ = decode_audio(wav.read_bytes(), name="timidity output")
    return _stereo(y) * np.float32(TIMIDITY_LEVEL * gain)


@lru_cache(maxsize=2)
def _soundfont_bytes(path: str, mtime: float) -> bytes:
    return Path(path).read_bytes()


def _render_builtin(midi_bytes: bytes, sf: Path, sample_rate: int, gain: float) -> np.ndarray:
    import midirenderer

    sf_bytes = _soundfont_bytes(str(sf.resolve()), sf.stat().st_mtime)
    try:
        wav = midirenderer.render_wave_from(sf_bytes, midi_bytes)
    except Exception as exc:  # the Rust extension raises plain exceptions with its message
        raise MtkError(f"builtin synth failed ({str(exc).strip() or type(exc).__name__})") from None
    y, rate = decode_audio(bytes(wav), name="builtin synth output")
    y = _stereo(y) * np.float32(BUILTIN_LEVEL * gain)
    return resample(y, rate, sample_rate)


def _stereo(y: np.ndarray) -> np.ndarray:
    return np.repeat(y, 2, axis=0) if y.shape[0] == 1 else np.ascontiguousarray(y[:2])


def _pad(y: np.ndarray, length: int) -> np.ndarray:
    if y.shape[-1] == length:
        return y
    return np.pad(y, ((0, 0), (0, length - y.shape[-1])))
