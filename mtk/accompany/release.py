"""The accompanist's parts in one release file (``accompany-jukedrummer-vN``).

A release is one mtk checkpoint of arch :data:`ARCH`: its config maps each part (tracker,
drum VQ-VAE, drumless VQ-VAE, language model, vocoder) to the part's own arch and config,
and its state dict holds every part's tensors under ``<part>.``. Only what inference runs is
kept: the drum VQ-VAE's decoder (the generator writes codes, it never reads drums) and the
drumless VQ-VAE's encoder, with both codebooks.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ARCH = "accompany-jukedrummer"
PARTS = ("tracker", "vq_drums", "vq_drumless", "lm", "vocoder")
UNUSED = {"vq_drums": "encoder.", "vq_drumless": "decoder."}  # the halves inference never runs


def pack(parts: Mapping[str, Mapping[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``{part: {"arch", "config", "state_dict"}}`` -> the release's ``(config, state_dict)``
    (the unused VQ-VAE halves left out)."""
    missing = [p for p in PARTS if p not in parts]
    if missing:
        raise ValueError(f"parts missing: {', '.join(missing)}")
    config = {p: {"arch": parts[p]["arch"], "config": dict(parts[p]["config"])} for p in PARTS}
    state = {
        f"{p}.{k}": v
        for p in PARTS
        for k, v in parts[p]["state_dict"].items()
        if not (p in UNUSED and k.startswith(UNUSED[p]))
    }
    return config, state


def unpack(config: Mapping[str, Any], state: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """A release's ``(config, state_dict)`` -> ``{part: {"arch", "config", "state_dict"}}``."""
    from mtk.errors import BadModelError

    missing = [p for p in PARTS if not isinstance(config.get(p), Mapping) or {"arch", "config"} - set(config[p])]
    if missing:
        raise BadModelError(f"not an accompanist release of this mtk: no {missing[0]} part")
    out = {}
    for p in PARTS:
        prefix = f"{p}."
        out[p] = dict(config[p]) | {
            "state_dict": {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
        }
    return out


def export_bundle(
    lm: str | os.PathLike[str], vocoder: str | os.PathLike[str], name: str, out_dir: str | os.PathLike[str]
) -> tuple[Path, str]:
    """Write the release of a trained language model (its checkpoint names the tracker and
    VQ-VAEs it was trained with) and a trained vocoder, float16, as ``out_dir/<name>-<sha8>.pt``;
    return its path and sha256."""
    from mtk.accompany.pipeline import part_path
    from mtk.io.files import atomic_write
    from mtk.weights.checkpoint import checkpoint_bytes, load_checkpoint, release_name

    named = load_checkpoint(lm)["meta"]["parts"]
    paths = {k: part_path(v, str(lm)) for k, v in named.items()} | {"lm": str(lm), "vocoder": str(vocoder)}
    parts = {p: load_checkpoint(paths[p]) for p in PARTS}
    config, state = pack(parts)
    meta = {p: {"step": parts[p].get("step"), "best": parts[p].get("best")} for p in PARTS}
    data = checkpoint_bytes(arch=ARCH, config=config, state_dict=state, half=True, meta=meta)
    filename, sha = release_name(name, data)
    return atomic_write(Path(out_dir) / filename, data, force=False), sha
