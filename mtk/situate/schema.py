"""The stream schema of ``mtk situate``: reading, validating and featurizing listening streams.

A stream is one play of a track by a user in a device context, as a CSV row or a JSON object:

======== ===================================================================================
column   value
======== ===================================================================================
timestamp local wall-clock time, ISO 8601 (``2019-08-14T07:32:00``; an offset is ignored:
          the time as written is the listener's local time)
device   ``mobile``, ``desktop`` or ``tablet``
network  ``mobile`` (cellular), ``wifi``, ``LAN`` or ``plane`` (offline)
user     any id
age      years (empty: unknown)
country  ISO 3166 alpha-2 code such as ``FR`` (empty: unknown)
gender   ``female``, ``male`` or ``other`` (empty: unknown)
track    an audio path or a track id (resolved against ``--audio CORPUS``)
situation for training and evaluation: one of :data:`SITUATIONS`
======== ===================================================================================

Features follow Ibrahim et al. (the seed paper, section 3): 8 device features (linear time,
linear day, circular time x/y, circular day x/y, device type, network type) and 3 demographic
features (age, country, gender). The circular day runs over the week's 168 hours, so Sunday
23:59 and Monday 00:01 are as close as 23:59 and 00:01 on one day.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from mtk.errors import InputError

# The paper's tag sets: C=4, then C=8 adds four, then C=12 adds four more.
SITUATIONS: tuple[str, ...] = (
    "work", "gym", "party", "sleep",
    "morning", "run", "night", "dance",
    "car", "train", "relax", "club",
)  # fmt: skip
TAG_SETS: dict[int, tuple[str, ...]] = {c: SITUATIONS[:c] for c in (4, 8, 12)}
DEVICES: tuple[str, ...] = ("mobile", "desktop", "tablet")
NETWORKS: tuple[str, ...] = ("mobile", "wifi", "LAN", "plane")
GENDERS: tuple[str, ...] = ("female", "male", "other")
DEVICE_COLUMNS: tuple[str, ...] = ("timestamp", "device", "network")
DEMOGRAPHIC_COLUMNS: tuple[str, ...] = ("age", "country", "gender")
DEVICE_FEATURES: tuple[str, ...] = (
    "linear_time", "linear_day", "time_x", "time_y", "day_x", "day_y", "device", "network",
)  # fmt: skip
DEMOGRAPHIC_FEATURES: tuple[str, ...] = ("age", "country", "gender")
FEATURES: tuple[str, ...] = DEVICE_FEATURES + DEMOGRAPHIC_FEATURES

_NETWORK_INDEX = {n.lower(): i for i, n in enumerate(NETWORKS)}


def tag_set(n_classes: int) -> tuple[str, ...]:
    if n_classes not in TAG_SETS:
        raise InputError(f"unknown tag set C={n_classes} (expected 4, 8 or 12)")
    return TAG_SETS[n_classes]


@dataclass
class Streams:
    """A validated table of streams, one array entry per row."""

    hour: np.ndarray  # float, local time of day in hours [0, 24)
    weekday: np.ndarray  # int, Monday 0 .. Sunday 6
    device: np.ndarray  # int, index in DEVICES
    network: np.ndarray  # int, index in NETWORKS
    age: np.ndarray  # float, NaN when unknown
    country: list[str]  # "" when unknown
    gender: np.ndarray  # float index in GENDERS, NaN when unknown
    user: list[str]
    track: list[str]
    situation: list[str]  # "" when absent
    timestamp: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.user)

    def take(self, index: np.ndarray | Sequence[int]) -> Streams:
        idx = np.asarray(index, dtype=int)
        pick = lambda values: [values[i] for i in idx]  # noqa: E731
        return Streams(
            self.hour[idx],
            self.weekday[idx],
            self.device[idx],
            self.network[idx],
            self.age[idx],
            pick(self.country),
            self.gender[idx],
            pick(self.user),
            pick(self.track),
            pick(self.situation),
            pick(self.timestamp) if self.timestamp else [],
        )

    def device_features(self) -> np.ndarray:
        """``(n, 8)``: the paper's device features."""
        return device_features(self.hour, self.weekday, self.device, self.network)

    def labels(self, situations: Sequence[str]) -> np.ndarray:
        """Class indices in ``situations`` (-1 where the situation is not among them)."""
        index = {s: i for i, s in enumerate(situations)}
        return np.array([index.get(s, -1) for s in self.situation], dtype=int)


def device_features(hour: np.ndarray, weekday: np.ndarray, device: np.ndarray, network: np.ndarray) -> np.ndarray:
    """``(n, 8)`` float32: linear time (hours), linear day (0-6), circular time, circular day
    (over the week's hours), device index, network index."""
    hour = np.asarray(hour, dtype=np.float64)
    week = (np.asarray(weekday, dtype=np.float64) * 24 + hour) / (7 * 24)
    day_angle, time_angle = 2 * np.pi * week, 2 * np.pi * hour / 24
    return np.stack(
        [hour, weekday, np.cos(time_angle), np.sin(time_angle), np.cos(day_angle), np.sin(day_angle), device, network],
        axis=1,
    ).astype(np.float32)


TIME_EXAMPLE = "2019-08-14T07:32:00"


def parse_time(value: object) -> datetime:
    """Local wall-clock time from an ISO 8601 string (any UTC offset is dropped, not applied)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ValueError("empty")
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not an ISO 8601 time such as {TIME_EXAMPLE} (a string)")
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1]
    try:
        return datetime.fromisoformat(text).replace(tzinfo=None)
    except ValueError:
        raise ValueError(f"{value!r} is not an ISO 8601 time such as {TIME_EXAMPLE}") from None


def _choice(value: object, options: dict[str, int], what: str, names: Sequence[str]) -> int:
    key = str(value).strip().lower() if value is not None else ""
    if key not in options:
        raise ValueError(f"unknown {what} {value!r} (expected {', '.join(names)})")
    return options[key]


def _age(value: object) -> float:
    if value is None or (isinstance(value, str) and not value.strip()):
        return math.nan
    age = float(value)
    if not 0 <= age <= 120:
        raise ValueError(f"age {value!r} out of range 0-120")
    return age


def _country(value: object) -> str:
    text = "" if value is None else str(value).strip().upper()
    if text and (len(text) != 2 or not text.isalpha()):
        raise ValueError(f"country {value!r} is not an ISO 3166 alpha-2 code such as FR")
    return text


def _gender(value: object) -> float:
    text = "" if value is None else str(value).strip().lower()
    if not text:
        return math.nan
    return float(_choice(text, {g: i for i, g in enumerate(GENDERS)}, "gender", GENDERS))


def parse_streams(
    rows: Iterable[Mapping[str, object]],
    *,
    source: str = "<streams>",
    need: Sequence[str] = ("timestamp", "device", "network", "user", "age", "country", "gender", "track"),
    situations: Sequence[str] | None = None,
) -> Streams:
    """Validate ``rows`` (dicts; row numbers count from 1 after any header) into :class:`Streams`.

    ``need`` are the columns every row must have; with ``situations``, every row must also
    carry a ``situation`` among them. The first bad value raises :class:`InputError` naming
    ``source``, the row and the column.
    """
    need = tuple(need) + (("situation",) if situations is not None else ())
    allowed = {s: s for s in situations} if situations is not None else None
    devices = {d: i for i, d in enumerate(DEVICES)}
    cols: dict[str, list] = {k: [] for k in ("hour", "weekday", "device", "network", "age", "country", "gender")}
    users, tracks, labels, stamps = [], [], [], []
    n = 0
    for n, row in enumerate(rows, start=1):
        if not isinstance(row, Mapping):
            raise InputError(f"{source}: row {n}: expected an object with the stream columns")
        for column in need:
            if column not in row or row[column] is None:
                raise InputError(f"{source}: row {n}: missing column {column!r}")
        column = "timestamp"
        try:
            if "timestamp" in row:
                when = parse_time(row["timestamp"])
                cols["hour"].append(when.hour + when.minute / 60 + when.second / 3600)
                cols["weekday"].append(when.weekday())
                stamps.append(str(row["timestamp"]))
            column = "device"
            if "device" in row:
                cols["device"].append(_choice(row["device"], devices, "device", DEVICES))
            column = "network"
            if "network" in row:
                cols["network"].append(_choice(row["network"], _NETWORK_INDEX, "network", NETWORKS))
            column = "age"
            cols["age"].append(_age(row.get("age")))
            column = "country"
            cols["country"].append(_country(row.get("country")))
            column = "gender"
            cols["gender"].append(_gender(row.get("gender")))
            column = "situation"
            label = str(row.get("situation") or "").strip().lower()
            if allowed is not None and label not in allowed:
                raise ValueError(f"unknown situation {row.get('situation')!r} (expected {', '.join(allowed)})")
        except (ValueError, TypeError) as exc:
            raise InputError(f"{source}: row {n}: column {column!r}: {exc}") from None
        users.append(str(row.get("user", "")).strip())
        tracks.append(str(row.get("track", "")).strip())
        labels.append(label)
    if n == 0:
        raise InputError(f"{source}: no streams")
    full = lambda key, fill: cols[key] if len(cols[key]) == n else [fill] * n  # noqa: E731
    return Streams(
        hour=np.asarray(full("hour", 0.0), dtype=np.float64),
        weekday=np.asarray(full("weekday", 0), dtype=np.int64),
        device=np.asarray(full("device", 0), dtype=np.int64),
        network=np.asarray(full("network", 0), dtype=np.int64),
        age=np.asarray(cols["age"], dtype=np.float64),
        country=cols["country"],
        gender=np.asarray(cols["gender"], dtype=np.float64),
        user=users,
        track=tracks,
        situation=labels,
        timestamp=stamps,
    )


def read_rows(text: str, *, source: str, what: str = "streams") -> list[dict[str, object]]:
    """JSON Lines (first non-blank character ``{``), a JSON array of objects (``[``) or CSV
    with a header row; every row a ``dict``. ``what`` names the rows in messages."""
    stripped = text.lstrip()
    if not stripped:
        raise InputError(f"{source}: empty file (no {what})")
    if stripped.startswith("["):
        try:
            rows = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise InputError(f"{source}: not JSON ({exc.msg} at line {exc.lineno})") from None
        for n, row in enumerate(rows, start=1):  # text starting with '[' parses to a list
            _check_object(row, source, f"item {n}")
        return rows
    if stripped.startswith("{"):
        rows = []
        for n, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                rows.append(_check_object(json.loads(line), source, f"line {n}"))
            except json.JSONDecodeError as exc:
                raise InputError(f"{source}: line {n}: not JSON ({exc.msg})") from None
        return rows
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        if not reader.fieldnames:
            raise InputError(f"{source}: no header row")
        return [dict(row) for row in reader]
    except csv.Error as exc:
        raise InputError(f"{source}: line {reader.line_num}: not valid CSV ({exc})") from None


def _check_object(row: object, source: str, where: str) -> dict[str, object]:
    if not isinstance(row, dict):
        kind = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(type(row), "a number")
        raise InputError(f"{source}: {where}: expected a JSON object with named columns, got {kind}")
    return row


def read_table(path: str, *, what: str = "streams") -> tuple[list[dict[str, object]], str]:
    """The rows of a CSV or JSON Lines file (``-``: standard input) and its name for messages."""
    from mtk.io.files import read_bytes

    source = "<stdin>" if path == "-" else path
    try:
        text = read_bytes(path).decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{source}: not UTF-8 text") from None
    return read_rows(text, source=source, what=what), source


def read_streams(
    path: str,
    *,
    need: Sequence[str] = ("timestamp", "device", "network", "user", "age", "country", "gender", "track"),
    situations: Sequence[str] | None = None,
) -> Streams:
    """Read and validate a CSV or JSON Lines stream file (``-``: standard input)."""
    rows, source = read_table(path)
    return parse_streams(rows, source=source, need=need, situations=situations)
