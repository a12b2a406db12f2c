"""A listening-stream simulator for training and testing ``mtk situate``. Simulated, not observed.

No public stream log with situations, devices and audio exists here (the paper's Deezer data
is not reachable), so ``mtk corpus streams`` plants the dependencies the paper reports and its
two branches rely on, with mtk corpus songs as the tracks:

- **Situations** (the paper's 12 tags) each have an hour-of-day mixture (night situations in
  the early hours, commutes at 8 and 18 h, work in office hours), a weekend weight, device
  odds (mobile dominant everywhere, desktop at work) and network odds (cellular in cars and
  on runs, offline "plane" on trains, LAN indoors only, with a little noise everywhere: the
  paper sees LAN in cars too).
- **Tracks** have a situation affinity from what they sound like: their tempo, their drum
  density (hits per second: energy) and their arrangement style, read from the song's
  ``meta.json``; the audio shows all three.
- **Users** have demographics (age, country, gender) that shift their situation habits
  (young users party more, older ones commute and work more; countries differ), a personal
  situation mix, a chronotype (hours earlier or later), the devices they own, a taste over
  styles, and their own twist on what suits each situation. So ``P(situation | track, user)``
  depends on the user, and their listening history (all plays, unlabelled) reveals it.

Output (in OUT): ``streams.jsonl`` (the schema of :mod:`mtk.situate.schema`, one labelled
stream per line, tracks as corpus song ids), ``history.jsonl`` (``user, track, plays``: each
user's unlabelled listening history, the input of the user embeddings), ``users.jsonl`` and
``streams.json`` (the command, seed, counts, and ``"simulated": true``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from mtk.corpus.reader import read_meta
from mtk.errors import InputError
from mtk.situate.schema import DEVICES, GENDERS, NETWORKS, SITUATIONS


@dataclass(frozen=True)
class Profile:
    hours: tuple[tuple[float, float, float], ...]  # (weight, mean hour, sd in hours)
    weekend: float  # weight of a Saturday or Sunday relative to a weekday
    device: tuple[float, float, float]  # mobile, desktop, tablet
    network: tuple[float, float, float, float]  # mobile, wifi, LAN, plane
    tempo: float  # preferred tempo, BPM
    energy: float  # preferred drum density percentile, 0-1
    styles: dict[str, float]  # style affinity (1 when absent)
    popularity: float


PROFILES: dict[str, Profile] = {
    "work": Profile(((1, 10.5, 1.8), (0.7, 15, 1.5)), 0.2, (0.45, 0.5, 0.05), (0.1, 0.55, 0.35, 0),
                    105, 0.4, {"folk": 1.3, "bossa": 1.5, "pop": 1.1, "swing": 1.2, "rock": 0.6}, 1.2),
    "gym": Profile(((1, 7, 1), (1.3, 18.5, 1.5)), 1.0, (0.95, 0.02, 0.03), (0.55, 0.45, 0, 0),
                   132, 0.9, {"rock": 1.6, "electronic": 1.8, "funk": 1.3, "ballad": 0.2, "folk": 0.5}, 1.0),
    "party": Profile(((1, 22.5, 1.8),), 3.0, (0.8, 0.15, 0.05), (0.3, 0.65, 0.05, 0),
                     120, 0.8, {"pop": 1.8, "funk": 1.8, "electronic": 1.2, "ballad": 0.3, "folk": 0.6}, 1.0),
    "sleep": Profile(((1, 23.6, 1.0),), 1.0, (0.8, 0.05, 0.15), (0.08, 0.87, 0.05, 0),
                     68, 0.1, {"ballad": 2.5, "folk": 1.2, "bossa": 1.0, "electronic": 0.3, "rock": 0.2}, 0.9),
    "morning": Profile(((1, 7.3, 1.0),), 0.8, (0.85, 0.1, 0.05), (0.3, 0.65, 0.05, 0),
                       100, 0.5, {"pop": 1.4, "folk": 1.3, "country": 1.5, "bossa": 1.1}, 0.8),
    "run": Profile(((1, 7, 1), (1, 19, 1.4)), 1.5, (0.98, 0, 0.02), (0.9, 0.1, 0, 0),
                   140, 0.85, {"electronic": 1.6, "rock": 1.4, "pop": 1.1, "ballad": 0.2, "swing": 0.6}, 0.8),
    "night": Profile(((1, 1.5, 1.5),), 1.5, (0.7, 0.2, 0.1), (0.2, 0.7, 0.1, 0),
                     92, 0.35, {"electronic": 1.2, "ballad": 1.1, "swing": 1.5, "country": 0.5}, 0.7),
    "dance": Profile(((1, 21.5, 2),), 2.5, (0.85, 0.1, 0.05), (0.3, 0.65, 0.05, 0),
                     124, 0.75, {"funk": 1.8, "electronic": 1.3, "bossa": 1.4, "swing": 1.4, "ballad": 0.3}, 0.8),
    "car": Profile(((1, 8, 0.8), (1.2, 18, 1.0)), 0.8, (0.97, 0, 0.03), (0.9, 0.03, 0.02, 0.05),
                   116, 0.6, {"rock": 1.5, "country": 1.8, "pop": 1.2}, 0.7),
    "train": Profile(((1, 8, 0.8), (1, 18, 0.8)), 0.4, (0.8, 0.05, 0.15), (0.6, 0.05, 0, 0.35),
                     104, 0.45, {"pop": 1.3, "electronic": 1.1, "folk": 1.2}, 0.6),
    "relax": Profile(((1, 20, 2.2), (0.5, 15, 2)), 2.0, (0.65, 0.15, 0.2), (0.1, 0.8, 0.1, 0),
                     80, 0.25, {"bossa": 1.8, "ballad": 1.4, "swing": 1.3, "folk": 1.1, "rock": 0.4}, 0.7),
    "club": Profile(((1, 0.5, 1.3),), 3.0, (0.95, 0.03, 0.02), (0.7, 0.3, 0, 0),
                    128, 0.95, {"electronic": 2.5, "funk": 1.3, "ballad": 0.1, "folk": 0.3, "country": 0.4}, 0.6),
}  # fmt: skip
assert tuple(PROFILES) == SITUATIONS

# Demographic shifts of the situation mix: multiplicative, per situation.
YOUNG = {"party": 1.8, "club": 2.2, "dance": 1.6, "gym": 1.4, "run": 1.3, "night": 1.5, "work": 0.7, "car": 0.6}
OLDER = {"work": 1.5, "car": 1.6, "relax": 1.4, "morning": 1.4, "train": 1.2, "club": 0.3, "party": 0.5}
COUNTRIES: dict[str, tuple[float, dict[str, float]]] = {  # share of users, situation shifts
    "FR": (0.45, {"train": 1.6, "work": 1.2, "car": 0.8}),
    "BR": (0.35, {"party": 1.4, "dance": 1.6, "car": 1.3, "train": 0.5, "gym": 1.2}),
    "DE": (0.12, {"train": 1.4, "run": 1.3, "club": 1.3}),
    "US": (0.08, {"car": 1.8, "gym": 1.3, "train": 0.4}),
}
GENDER_SHARES = (0.48, 0.48, 0.04)
MIX_CONCENTRATION = 5.0  # Dirichlet total of a user's situation mix: low, so habits are personal
MONTH = date(2019, 8, 1)  # the paper's month; timestamps fall in August 2019


@dataclass(frozen=True)
class Track:
    id: str
    style: str
    tempo: float
    energy: float  # percentile of drum hits per second within the corpus, 0-1


def load_tracks(corpora: list[Path]) -> list[Track]:
    """Tracks of mtk song corpora (``index.jsonl`` plus each song's ``meta.json``)."""
    rows = []
    for corpus in corpora:
        index = corpus / "index.jsonl"
        if not index.is_file():
            raise InputError(f"{corpus}: not an mtk song corpus (no index.jsonl; build one with mtk corpus songs)")
        for n, line in enumerate(index.read_text(errors="replace").splitlines(), start=1):
            try:
                song_id = str(json.loads(line)["id"])
            except (json.JSONDecodeError, KeyError, TypeError):
                raise InputError(f"{index}: line {n}: not a song record (JSON with an 'id')") from None
            meta_path = corpus / song_id / "meta.json"
            if not meta_path.is_file():
                continue
            meta = read_meta(meta_path, need=("style", "tempo", "drum_hits", "duration"))
            density = len(meta["drum_hits"]) / max(meta["duration"], 1e-3)
            rows.append((song_id, meta["style"], float(meta["tempo"]), density))
    if len(rows) < 8:
        raise InputError(f"{', '.join(map(str, corpora))}: {len(rows)} songs; the simulator needs at least 8")
    ids = [r[0] for r in rows]
    if len(set(ids)) != len(ids):
        raise InputError("the corpora share song ids; use corpora built apart")
    density = np.array([r[3] for r in rows])
    energy = (np.argsort(np.argsort(density)) + 0.5) / len(rows)
    return [Track(i, s, t, float(e)) for (i, s, t, _), e in zip(rows, energy, strict=True)]


def track_affinity(tracks: list[Track]) -> np.ndarray:
    """``(tracks, situations)`` log affinity from tempo, energy and style."""
    tempo = np.array([t.tempo for t in tracks])[:, None]
    energy = np.array([t.energy for t in tracks])[:, None]
    pref_tempo = np.array([PROFILES[s].tempo for s in SITUATIONS])[None, :]
    pref_energy = np.array([PROFILES[s].energy for s in SITUATIONS])[None, :]
    style = np.log([[PROFILES[s].styles.get(t.style, 1.0) for s in SITUATIONS] for t in tracks])
    return -0.5 * ((tempo - pref_tempo) / 16) ** 2 - 0.5 * ((energy - pref_energy) / 0.22) ** 2 + 1.5 * style


@dataclass
class Users:
    ids: list[str]
    age: np.ndarray
    country: list[str]
    gender: np.ndarray  # index in GENDERS
    mix: np.ndarray  # (users, situations) situation probabilities
    chronotype: np.ndarray  # hours
    owns: np.ndarray  # (users, devices) bool
    taste: np.ndarray  # (users, styles) log preference
    twist: np.ndarray  # (users, situations, styles) log preference
    activity: np.ndarray  # share of all streams


def make_users(n: int, styles: list[str], rng: np.random.Generator, *, prefix: str = "u") -> Users:
    """``n`` simulated users; ids are ``prefix`` and a 5-digit number."""
    age = np.clip(np.round(16 + rng.gamma(2.2, 8.0, n)), 16, 80)
    names = list(COUNTRIES)
    country = [names[i] for i in rng.choice(len(names), n, p=[COUNTRIES[c][0] for c in names])]
    gender = rng.choice(len(GENDERS), n, p=GENDER_SHARES)
    base = np.array([PROFILES[s].popularity for s in SITUATIONS])
    mix = np.empty((n, len(SITUATIONS)))
    for u in range(n):
        shift = np.ones(len(SITUATIONS))
        young = float(np.clip((35 - age[u]) / 15, 0, 1))
        older = float(np.clip((age[u] - 35) / 20, 0, 1))
        for k, s in enumerate(SITUATIONS):
            shift[k] *= YOUNG.get(s, 1.0) ** young * OLDER.get(s, 1.0) ** older
            shift[k] *= COUNTRIES[country[u]][1].get(s, 1.0)
        mix[u] = rng.dirichlet(MIX_CONCENTRATION * base * shift / (base * shift).sum())
    owns = np.stack([np.ones(n, bool), rng.random(n) < 0.6, rng.random(n) < 0.35], axis=1)
    return Users(
        ids=[f"{prefix}{u:05d}" for u in range(n)],
        age=age,
        country=country,
        gender=gender,
        mix=mix,
        chronotype=rng.normal(0, 1.5, n),
        owns=owns,
        taste=rng.normal(0, 0.7, (n, len(styles))),
        twist=rng.normal(0, 0.8, (n, len(SITUATIONS), len(styles))),
        activity=rng.lognormal(0, 0.8, n),
    )


def track_choice(users: Users, tracks: list[Track], styles: list[str]) -> np.ndarray:
    """``(users, situations, tracks)`` probabilities of the track a user plays in a situation."""
    style_of = np.array([styles.index(t.style) for t in tracks])
    logits = track_affinity(tracks).T[None, :, :]  # (1, S, T)
    logits = logits + users.taste[:, None, style_of] + users.twist[:, :, style_of]
    logits -= logits.max(axis=2, keepdims=True)
    p = np.exp(logits)
    return p / p.sum(axis=2, keepdims=True)


def _draw_time(profile: Profile, chronotype: float, rng: np.random.Generator) -> tuple[date, int, int, int]:
    weights = np.array([w for w, _, _ in profile.hours], dtype=float)
    _, mean, sd = profile.hours[int(rng.choice(len(weights), p=weights / weights.sum()))]
    hour = (rng.normal(mean + chronotype, sd)) % 24
    day_weights = np.array([1, 1, 1, 1, 1, profile.weekend, profile.weekend], dtype=float)
    weekday = int(rng.choice(7, p=day_weights / day_weights.sum()))
    days = [d for d in range(31) if (MONTH + timedelta(days=d)).weekday() == weekday]
    day = MONTH + timedelta(days=int(rng.choice(days)))
    seconds = int(hour * 3600)
    return day, seconds // 3600, seconds // 60 % 60, seconds % 60


def _draw_context(profile: Profile, owns: np.ndarray, rng: np.random.Generator) -> tuple[str, str]:
    device_p = np.array(profile.device) * owns + 1e-3
    device = DEVICES[int(rng.choice(len(DEVICES), p=device_p / device_p.sum()))]
    network_p = 0.96 * np.array(profile.network) + 0.04 / len(NETWORKS)  # a little noise everywhere
    network = NETWORKS[int(rng.choice(len(NETWORKS), p=network_p / network_p.sum()))]
    return device, network


def simulate(
    tracks: list[Track], *, n_users: int, n_streams: int, seed: int, history_plays: int = 120
) -> tuple[Users, list[dict], list[dict]]:
    """Users, labelled streams, and unlabelled listening history (user, track, plays)."""
    rng = np.random.default_rng(seed)
    styles = sorted({t.style for t in tracks})
    # Ids carry the seed (s7-u00042), so two simulations' users, or a simulation's and the
    # shipped model's (u00000-u01999, simulated before ids did), never share an id.
    users = make_users(n_users, styles, rng, prefix=f"s{seed}-u")
    choice = track_choice(users, tracks, styles)
    share = users.activity / users.activity.sum()
    streams = []
    for u in rng.choice(n_users, n_streams, p=share):
        k = int(rng.choice(len(SITUATIONS), p=users.mix[u]))
        profile = PROFILES[SITUATIONS[k]]
        day, hh, mm, ss = _draw_time(profile, float(users.chronotype[u]), rng)
        device, network = _draw_context(profile, users.owns[u], rng)
        t = int(rng.choice(len(tracks), p=choice[u, k]))
        streams.append(
            {
                "timestamp": f"{day.isoformat()}T{hh:02d}:{mm:02d}:{ss:02d}",
                "device": device,
                "network": network,
                "user": users.ids[u],
                "age": int(users.age[u]),
                "country": users.country[u],
                "gender": GENDERS[int(users.gender[u])],
                "track": tracks[t].id,
                "situation": SITUATIONS[k],
            }
        )
    history = []
    for u in range(n_users):
        plays = max(10, int(history_plays * users.activity[u]))
        p = users.mix[u] @ choice[u]
        per_track = rng.multinomial(plays, p / p.sum())
        history += [
            {"user": users.ids[u], "track": tracks[t].id, "plays": int(per_track[t])} for t in np.flatnonzero(per_track)
        ]
    return users, streams, history


def user_records(users: Users) -> list[dict]:
    return [
        {
            "user": users.ids[u],
            "age": int(users.age[u]),
            "country": users.country[u],
            "gender": GENDERS[int(users.gender[u])],
            "devices": [d for d, owned in zip(DEVICES, users.owns[u], strict=True) if owned],
        }
        for u in range(len(users.ids))
    ]


OUTPUT_FILES = ("streams.jsonl", "history.jsonl", "users.jsonl", "streams.json")


def write_streams_corpus(
    out: Path,
    corpora: list[Path],
    *,
    n_users: int,
    n_streams: int,
    seed: int,
    command: list[str],
    force: bool = False,
) -> dict:
    """Simulate and write OUT/streams.jsonl, history.jsonl, users.jsonl and streams.json.

    Refuses (before any work) to overwrite any of them without ``force``; each file is
    written atomically. Returns the summary written to streams.json.
    """
    from mtk.io.files import atomic_write, check_writable
    from mtk.io.records import dumps

    for name in OUTPUT_FILES:
        check_writable(out / name, force=force)
    tracks = load_tracks(corpora)
    users, streams, history = simulate(tracks, n_users=n_users, n_streams=n_streams, seed=seed)
    lines = lambda rows: "".join(dumps(r) + "\n" for r in rows).encode()  # noqa: E731
    out.mkdir(parents=True, exist_ok=True)
    atomic_write(out / "streams.jsonl", lines(streams), force=force)
    atomic_write(out / "history.jsonl", lines(history), force=force)
    atomic_write(out / "users.jsonl", lines(user_records(users)), force=force)
    counts = {s: 0 for s in SITUATIONS}
    for row in streams:
        counts[row["situation"]] += 1
    summary = {
        "simulated": True,
        "command": command,
        "seed": seed,
        "users": n_users,
        "streams": len(streams),
        "history_plays": sum(r["plays"] for r in history),
        "tracks": len(tracks),
        "audio": [str(c) for c in corpora],
        "situations": counts,
    }
    atomic_write(out / "streams.json", (json.dumps(summary, indent=1) + "\n").encode(), force=force)
    return summary
