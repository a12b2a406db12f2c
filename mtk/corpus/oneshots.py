"""Export every installed recorded kit's one-shots as normalized, classed WAV files."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from mtk.corpus.kits import Kit, installed_kits, load_one_shot
from mtk.errors import UsageError
from mtk.io.audio import encode_wav
from mtk.io.files import atomic_write

PEAK = 0.891  # -1 dBFS


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "sample"


def export_oneshots(
    out: Path, *, sample_rate: int = 44_100, kits: tuple[str, ...] | None = None, force: bool = False
) -> Iterator[dict[str, Any]]:
    """Write ``out/<kit>/<class>/<instrument>-v<layer>.wav`` (trimmed, -1 dBFS peak, stereo).

    Yields one index record per file (kit, class, instrument, velocity layer and range,
    duration, source path, licence) and writes them all to ``out/index.jsonl`` at the end.
    """
    available = {k.name: k for k in installed_kits(playable_only=False)}
    if not available:
        raise UsageError(
            "no recorded drum kits installed",
            hint="apt-get install hydrogen-data hydrogen-drumkits sonic-pi-samples (or `make corpus-deps`)",
        )
    chosen: list[Kit] = [available[k] for k in kits] if kits else list(available.values())
    records = []
    for kit in chosen:
        for inst in kit.instruments:
            for i, layer in enumerate(inst.layers):
                y = load_one_shot(layer.path, sample_rate)
                peak = float(np.abs(y).max(initial=0.0))
                if peak <= 0:
                    continue
                rel = Path(_slug(kit.name)) / inst.cls / f"{_slug(inst.name)}-v{i + 1}.wav"
                atomic_write(out / rel, encode_wav(y * (PEAK / peak), sample_rate), force=force)
                record = {
                    "file": str(rel),
                    "kit": kit.name,
                    "class": inst.cls,
                    "instrument": inst.name,
                    "layer": i + 1,
                    "layers": len(inst.layers),
                    "velocity": [layer.vmin, layer.vmax],
                    "duration": round(y.shape[-1] / sample_rate, 4),
                    "source": str(layer.path),
                    "licence": kit.licence,
                }
                records.append(record)
                yield record
    index = "".join(json.dumps(r, sort_keys=True) + "\n" for r in records)
    atomic_write(out / "index.jsonl", index.encode(), force=True)
