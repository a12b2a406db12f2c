"""Find model files on disk and verify them against the registry's sha256.

Resolution order for a ``--model`` value:
1. an explicit path to a file (used as given);
2. a registry name, whose files are looked up in the package (``mtk/weights/files/``),
3. then in ``$MTK_CACHE_DIR`` (default ``$XDG_CACHE_HOME/mtk``, i.e. ``~/.cache/mtk``).
A registry file whose sha256 differs from the table is an error, never silently used.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from mtk.errors import BadModelError, ModelError
from mtk.io.files import sha256_file
from mtk.weights.registry import ModelEntry, WeightFile, check_task, get_entry

PACKAGE_DIR = Path(__file__).resolve().parent / "files"


def cache_dir() -> Path:
    """``$MTK_CACHE_DIR``, else ``$XDG_CACHE_HOME/mtk``, else ``~/.cache/mtk``."""
    if os.environ.get("MTK_CACHE_DIR"):
        return Path(os.environ["MTK_CACHE_DIR"])
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "mtk"


def search_dirs() -> list[Path]:
    """Folders searched for registry files, in order."""
    return [PACKAGE_DIR, cache_dir()]


@dataclass(frozen=True)
class ResolvedModel:
    """A model located on disk: its registry entry (None for a bare path) and file paths."""

    name: str
    entry: ModelEntry | None
    paths: tuple[Path, ...]

    @property
    def path(self) -> Path:
        """The single file of a one-file model."""
        if len(self.paths) != 1:
            raise ModelError(f"{self.name}: model has {len(self.paths)} files, expected 1")
        return self.paths[0]


def looks_like_path(name_or_path: str) -> bool:
    """True when a ``--model`` value names a file rather than a registry entry."""
    return os.sep in name_or_path or "." in Path(name_or_path).name or Path(name_or_path).exists()


def locate(wf: WeightFile, *, verify: bool = True) -> Path:
    """Find one registry file in the search folders and (by default) check its sha256."""
    for folder in search_dirs():
        path = folder / wf.filename
        if path.is_file():
            if verify:
                actual = sha256_file(path)
                if actual != wf.sha256:
                    raise ModelError(
                        f"{path}: sha256 mismatch (expected {wf.sha256[:12]}..., got {actual[:12]}...)",
                        hint="the file is corrupt or was replaced; reinstall mtk or delete it",
                    )
            return path
    where = ", ".join(str(d) for d in search_dirs())
    raise ModelError(f"{wf.filename}: not found in {where}")


def resolve(name_or_path: str, *, task: str | None = None, verify: bool = True) -> ResolvedModel:
    """Resolve a ``--model`` value (path or registry name) to files on disk.

    Raises:
        BadModelError: unknown name, wrong task or no such file (exit 2).
        ModelError: a registry file missing or failing its sha256 (exit 1).
    """
    if looks_like_path(name_or_path):
        path = Path(name_or_path)
        if not path.is_file():
            raise BadModelError(f"{path}: no such model file")
        return ResolvedModel(name=str(path), entry=None, paths=(path,))
    entry = get_entry(name_or_path)
    if task is not None:
        check_task(entry, task)
    paths = tuple(locate(wf, verify=verify) for wf in entry.files)
    return ResolvedModel(name=entry.name, entry=entry, paths=paths)


def card_path(entry: ModelEntry) -> Path | None:
    """Path of the entry's model card, if it has one and it is present."""
    if entry.card is None:
        return None
    path = PACKAGE_DIR / entry.card
    return path if path.is_file() else None


def verify_entry(entry: ModelEntry) -> list[dict[str, object]]:
    """Check every file of an entry; one record per file with ``ok`` and a ``problem``."""
    results: list[dict[str, object]] = []
    for wf in entry.files:
        record: dict[str, object] = {"name": entry.name, "file": wf.filename}
        try:
            record["path"] = str(locate(wf, verify=True))
            record["ok"] = True
        except ModelError as exc:
            record["ok"], record["problem"] = False, str(exc)
        results.append(record)
    if entry.card and card_path(entry) is None:
        results.append({"name": entry.name, "file": entry.card, "ok": False, "problem": "model card missing"})
    return results
