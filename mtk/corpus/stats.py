"""Statistics of a built song corpus (``mtk corpus stats``)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from mtk.corpus.reader import song_metas


def corpus_stats(out: Path) -> dict[str, Any]:
    """Songs, hours, works, and counts per split, style, meter, kit, soundfont and drum class."""
    metas = song_metas(out)
    counts: dict[str, Counter[str]] = {
        k: Counter() for k in ("splits", "styles", "meters", "kits", "soundfonts", "hits")
    }
    seconds, works = 0.0, set()
    for _, meta in metas:
        seconds += meta["duration"]
        works.add(meta["work"]["id"])
        counts["splits"][meta["split"]] += 1
        counts["styles"][meta["style"]] += 1
        counts["meters"][meta["meter"]] += 1
        counts["kits"][meta["drums"]["kit"] or "none"] += 1
        counts["soundfonts"][meta["soundfont"]["name"]] += 1
        counts["hits"].update(h["class"] for h in meta["drum_hits"])
    return {
        "corpus": str(out),
        "songs": len(metas),
        "works": len(works),
        "hours": round(seconds / 3600, 4),
        **{k: dict(sorted(v.items())) for k, v in counts.items()},
    }
