"""The table of models mtk knows by name. Pure Python: no torch, no file access.

Conventions (see shared STYLE.md):
- A release entry names its files ``<name>-<sha256[:8]>.<ext>`` with the full sha256 and
  size, and a model card ``<name>.md`` beside them in ``mtk/weights/files/``. Released files
  are never replaced: a changed model is a new name (``-v2``).
- Every task also has a ``<task>-debug`` entry: no files, a tiny ``config`` and a ``seed``;
  the task's ``infer.load`` builds it randomly initialised from that seed. Debug entries let
  tests run the real CLI path in seconds and are never a task's default.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mtk.errors import BadModelError, ModelError


@dataclass(frozen=True)
class WeightFile:
    """One released file: its name in the package, full sha256 and size in bytes."""

    filename: str
    sha256: str
    size: int

    def __post_init__(self) -> None:
        if len(self.sha256) != 64 or not self.filename.split(".")[0].endswith(self.sha256[:8]):
            raise ValueError(f"{self.filename}: must be named <name>-<sha256[:8]>.<ext>")


@dataclass(frozen=True)
class ModelEntry:
    """A model known by name."""

    name: str
    task: str
    version: int
    summary: str
    files: tuple[WeightFile, ...] = ()
    card: str | None = None
    sample_rate: int | None = None
    default: bool = False
    debug: bool = False
    seed: int = 0
    config: Mapping[str, Any] = field(default_factory=dict)

    @property
    def size(self) -> int:
        """Total bytes of the entry's files."""
        return sum(f.size for f in self.files)

    def to_dict(self) -> dict[str, Any]:
        """The record ``mtk models list`` prints."""
        return {
            "name": self.name,
            "task": self.task,
            "version": self.version,
            "default": self.default,
            "debug": self.debug,
            "size": self.size,
            "files": [f.filename for f in self.files],
            "sample_rate": self.sample_rate,
            "card": self.summary,
        }


# Shipped models, added by each task as its weights are trained and exported.
REGISTRY: tuple[ModelEntry, ...] = (
    ModelEntry(
        name="detect-cover-calib-v2",
        task="detect-cover",
        version=2,
        summary="pair-score calibration (logistic on multi-level Qmax and 2DFTM distance) fitted on 200 mtk "
        "corpus songs (50 works x 4 versions); test MAP 0.812 with 1,265 distractors",
        files=(
            WeightFile(
                "detect-cover-calib-v2-22d0f5f6.json",
                "22d0f5f6a32b3aa97eaf6d52968cde574ce5b0640d24cfd61c969365e5d73f8c",
                432,
            ),
        ),
        card="detect-cover-calib-v2.md",
        sample_rate=11_025,
    ),
    ModelEntry(
        name="detect-cover-proj-v1",
        task="detect-cover",
        version=1,
        summary="learned stage-1 projection of the 2DFTM fingerprints (trained on 343 mtk corpus works against "
        "real game music) and its pair-score calibration; test MAP 0.980 with 1,265 distractors (top 200 re-ranked)",
        files=(
            WeightFile(
                "detect-cover-proj-v1-34f7c20d.npz",
                "34f7c20d993a53e82fc2eb1738237368827d3b636639921d47a7b67b9ee7e22a",
                1249630,
            ),
        ),
        card="detect-cover-proj-v1.md",
        sample_rate=11_025,
        default=True,
    ),
    ModelEntry(
        name="detect-cover-debug",
        task="detect-cover",
        version=0,
        summary="fixed, untrained pair-score calibration for tests (score = sigmoid(-6 + 12 qmax - 2 distance))",
        debug=True,
        config={"w_qmax": 12.0, "w_distance": -2.0, "bias": -6.0, "threshold": 0.5},
    ),
    ModelEntry(
        name="transcribe-drummernet-v2",
        task="transcribe",
        version=2,
        summary="DrummerNet (166k parameters) trained without labels on mtk corpus drum stems of 13 recorded "
        "kits (2,200 steps, then an 800-step fine-tune chosen on validation), with an onset gate; held-out kits: "
        "mean onset F1 0.889",
        files=(
            WeightFile(
                "transcribe-drummernet-v2-94c83c05.pt",
                "94c83c05ea4f3393f5f173cb3009ee144284fbcc3eef597b17af817c2a73f644",
                677120,
            ),
        ),
        card="transcribe-drummernet-v2.md",
        sample_rate=16_000,
    ),
    ModelEntry(
        name="transcribe-crnn-v4",
        task="transcribe",
        version=4,
        summary="supervised CRNN on log-mel (240k parameters) trained on the hit lists of mtk corpus songs "
        "(grooves, MMA fills, Peter Falk's grooves, Hydrogen's demo parts, generated fills; 114 sampled kits, "
        "redesigned variants included); v3 fine-tuned 250 steps with two songs' drums layered in some excerpts, "
        "chosen on kits held out from training; held-out kits: mean onset F1 0.882 on parts like people play "
        "(no drum under 0.80), 0.912 on grooves",
        files=(
            WeightFile(
                "transcribe-crnn-v4-ecd81e45.pt",
                "ecd81e45658bf7f438413c54f6638f5ef6ef1d59d1904cf1ec034eba7ce2b9f4",
                972465,
            ),
        ),
        card="transcribe-crnn-v4.md",
        sample_rate=22_050,
        default=True,
    ),
    ModelEntry(
        name="transcribe-debug",
        task="transcribe",
        version=0,
        summary="tiny DrummerNet (4 channels), randomly initialised from seed 0, for tests",
        sample_rate=16_000,
        debug=True,
        seed=0,
        config={"channels": 4, "threshold": 0.02},
    ),
    ModelEntry(
        name="embed-effnet-multi-v1",
        task="embed",
        version=1,
        summary="contrastive music embedding (EfficientNet-Lite0 from ImageNet, 1280-d; heads for track, release, "
        "artist and label) trained 300 steps on 900 recordings: simulated bands of mtk corpus songs and game "
        "soundtracks",
        files=(
            WeightFile(
                "embed-effnet-multi-v1-b3924500.pt",
                "b3924500ba398e25572736c54f19ce9971b1648a1ed5509ddaa989ec47263622",
                14272769,
            ),
        ),
        card="embed-effnet-multi-v1.md",
        sample_rate=16_000,
        default=True,
    ),
    ModelEntry(
        name="embed-effnet-artist-v1",
        task="embed",
        version=1,
        summary="contrastive music embedding from the artist association alone (EfficientNet-Lite0 from ImageNet, "
        "1280-d) trained 300 steps on the recordings of embed-effnet-multi-v1; the best single association",
        files=(
            WeightFile(
                "embed-effnet-artist-v1-2e681e33.pt",
                "2e681e339cae1e5388aa221a726a98ec8975b538d2a77172dfea6a39ca983bd8",
                8754015,
            ),
        ),
        card="embed-effnet-artist-v1.md",
        sample_rate=16_000,
    ),
    ModelEntry(
        name="cover-genre-v1",
        task="cover-genre",
        version=1,
        summary="genre classifier for cover's taste profile: an MLP (256 hidden) on embed-effnet-multi-v1 vectors, "
        "trained on 747 mtk corpus songs in 9 styles; held-out soundfont and kits: accuracy 0.741 "
        "(the seed's random forest 0.611)",
        files=(
            WeightFile(
                "cover-genre-v1-e66f1781.pt",
                "e66f178106e0af4c95b524292e360932a98277172a69ec0f7cc894694d3d6634",
                1334933,
            ),
        ),
        card="cover-genre-v1.md",
        sample_rate=16_000,
        default=True,
    ),
    ModelEntry(
        name="cover-genre-debug",
        task="cover-genre",
        version=0,
        summary="tiny genre MLP on embed-debug vectors, random from seed 0, for tests",
        sample_rate=16_000,
        debug=True,
        seed=0,
        config={"inputs": 320, "hidden": 16, "dropout": 0.0, "embed": "embed-debug"},
    ),
    ModelEntry(
        name="embed-debug",
        task="embed",
        version=0,
        summary="tiny contrastive embedding (Lite0 at a quarter width, artist head), random from seed 0, for tests",
        sample_rate=16_000,
        debug=True,
        seed=0,
        config={"backbone": "lite0", "associations": ("artist",), "width": 0.25, "depth": 0.34},
    ),
    ModelEntry(
        name="separate-umx-v1",
        task="separate",
        version=1,
        summary="Open-Unmix ratio-mask separator (drums, bass, lead, other; 4 x 3-layer BLSTM, 5.0 M parameters) "
        "trained 2,000 steps on the stems of 247 mtk corpus songs",
        files=(
            WeightFile(
                "separate-umx-v1-8e27b817.pt",
                "8e27b81789424cf8d920d1f0d48fcfc908df19a5a068454591881ea8893f8dfb",
                10139983,
            ),
        ),
        card="separate-umx-v1.md",
        sample_rate=44_100,
        default=True,
    ),
    ModelEntry(
        name="separate-debug",
        task="separate",
        version=0,
        summary="tiny Open-Unmix separator (FFT 512, 8 hidden units, one BLSTM layer), random from seed 0, for tests",
        sample_rate=44_100,
        debug=True,
        seed=0,
        config={"arch": "umx", "n_fft": 512, "hop": 128, "hidden": 8, "layers": 1},
    ),
    ModelEntry(
        name="situate-ausp-v1",
        task="situate-ausp",
        version=1,
        summary="auSP (mel CNN + history-based user embedding, 16.2 M parameters, int8 FC) for 12 situations, "
        "trained 2,500 steps on 79,944 simulated streams over 600 mtk corpus songs; warm test AUC 0.897, "
        "accuracy 47.3%",
        files=(
            WeightFile(
                "situate-ausp-v1-58c904de.pt",
                "58c904ded188ec7955519725f70935ef38a9c76f8be64b2e6e7058f22ae84610",
                17555989,
            ),
        ),
        card="situate-ausp-v1.md",
        sample_rate=22_050,
    ),
    ModelEntry(
        name="situate-ausp-v2",
        task="situate-ausp",
        version=2,
        summary="auSP (mel CNN + history-based user embedding, 16.2 M parameters, int8 FC) for 12 situations, "
        "trained 2,500 steps on 79,981 simulated streams over 599 mtk corpus songs, with a content map that folds "
        "in histories of any audio; warm test AUC 0.895, accuracy 48.5%",
        files=(
            WeightFile(
                "situate-ausp-v2-a8622e50.pt",
                "a8622e50aee5409cfed1b96e2c6311e5269b7485b9d7a5a56be44bceda1cd880",
                17628687,
            ),
        ),
        card="situate-ausp-v2.md",
        sample_rate=22_050,
        default=True,
    ),
    ModelEntry(
        name="situate-dusp-v1",
        task="situate-dusp",
        version=1,
        summary="duSP (XGBoost, 50 depth-5 trees per class) on 8 device + 3 demographic features for 12 "
        "situations, trained on 79,944 simulated streams; warm test accuracy 44.9%, accuracy@3 80.4%",
        files=(
            WeightFile(
                "situate-dusp-v1-ec5de69e.ubj",
                "ec5de69ece6d4b2c14e69a11864572c9e98b089b0bf0de47c337be5f0374dd9a",
                1438253,
            ),
        ),
        card="situate-dusp-v1.md",
        default=True,
    ),
    ModelEntry(
        name="situate-ausp-debug",
        task="situate-ausp",
        version=0,
        summary="tiny auSP (4-channel convolutions), randomly initialised from seed 0, no known users, for tests",
        sample_rate=22_050,
        debug=True,
        seed=0,
        config={"n_classes": 12, "channels": [4, 4, 4, 4], "audio_dim": 8, "user_hidden": 8, "hidden": 8},
    ),
    ModelEntry(
        name="situate-dusp-debug",
        task="situate-dusp",
        version=0,
        summary="duSP fitted at load time on 600 streams simulated from seed 0 (10 trees of depth 3), for tests",
        debug=True,
        seed=0,
        config={"n_classes": 12},
    ),
    ModelEntry(
        name="infill-structformer-v1",
        task="infill",
        version=1,
        summary="structure-aware melody infilling Transformer (192-d, 1 encoder + 3 decoder layers, 2.7 M "
        "parameters) trained 2,500 steps on 15,695 examples from 3,495 music21 tune-book melodies; "
        "similarity to held-out repeats 0.849 with the reference, 0.647 without; exact bars 100%",
        files=(
            WeightFile(
                "infill-structformer-v1-32185a0b.pt",
                "32185a0bd48e9a2891196e241728fecea5ec27881178db8ca8a52a03b3d475b3",
                5376197,
            ),
        ),
        card="infill-structformer-v1.md",
    ),
    ModelEntry(
        name="infill-structformer-v2",
        task="infill",
        version=2,
        summary="v1 fine-tuned 1,500 steps over every meter (820 tokens: numerators 1-16 over 2, 4, 8, 16, "
        "meter changes) on 4,560 music21 tune-book melodies; sampled with the copy expert (closeness 3)",
        files=(
            WeightFile(
                "infill-structformer-v2-a7ec2799.pt",
                "a7ec27996b539fa7de74710a8798214aa56ea4f55b306d40eccc547b7ef73ef8",
                5715013,
            ),
        ),
        card="infill-structformer-v2.md",
        default=True,
    ),
    ModelEntry(
        name="infill-debug",
        task="infill",
        version=0,
        summary="tiny infilling Transformer (32-d, one layer each), randomly initialised from seed 0, for tests",
        debug=True,
        seed=0,
        config={"d_model": 32, "heads": 2, "encoder_layers": 1, "decoder_layers": 1, "feed_forward": 64},
    ),
    ModelEntry(
        name="rank-samples-samplematch-v1",
        task="rank-samples",
        version=1,
        summary="SampleMatch (two EfficientNet-Lite0 encoders from ImageNet, 256-d) trained 2,200 steps on 298 mtk "
        "corpus songs drummed by 29 kits, and a one-shot classifier; held-out kits: mean normalised rank 0.283 "
        "(full mixtures) and 0.298 (sparse), random 0.5",
        files=(
            WeightFile(
                "rank-samples-samplematch-v1-9ff5025f.pt",
                "9ff5025f8a40854d59ce09d68449884162ebf0b2d9a322cd0f6573d9ab1a125a",
                15678979,
            ),
            WeightFile(
                "rank-samples-samplematch-v1-classes-040a89f7.npz",
                "040a89f7554caffc226dab0c1dcedf744a5f55a1eb7103fb87046139e5233aa1",
                2984,
            ),
        ),
        card="rank-samples-samplematch-v1.md",
        sample_rate=44_100,
        default=True,
    ),
    ModelEntry(
        name="rank-samples-debug",
        task="rank-samples",
        version=0,
        summary="tiny SampleMatch (Lite0 at a quarter width), random from seed 0, classes from file names, for tests",
        sample_rate=44_100,
        debug=True,
        seed=0,
        config={"backbone": "lite0", "width": 0.25, "depth": 0.34},
    ),
    ModelEntry(
        name="accompany-jukedrummer-v1",
        task="accompany",
        version=1,
        summary="JukeDrummer on a CPU: beat tracker, two 32-code VQ-VAEs, a 192-wide 4-layer drum Transformer with "
        "the drumless encoder and low-level beat features, a Vocos-style vocoder; trained on 408 mtk corpus songs",
        files=(
            WeightFile(
                "accompany-jukedrummer-v1-8d58742f.pt",
                "8d58742f06e949b261445c5949167f433c9c4ebd64c1a6aa45d4e6494285158a",
                20896895,
            ),
        ),
        card="accompany-jukedrummer-v1.md",
        sample_rate=22_050,
        default=True,
    ),
    ModelEntry(
        name="accompany-debug",
        task="accompany",
        version=0,
        summary="tiny accompanist (tracker 8 wide, 8-code VQ-VAEs, 32-d one-layer language model, 16-d vocoder), "
        "random from seed 0, for tests",
        sample_rate=22_050,
        debug=True,
        seed=0,
        config={
            "tracker": {"width": 8, "layers": 2},
            "vq": {"width": 16, "dim": 8, "codes": 8},
            "lm": {"width": 32, "depth": 1, "encoder_depth": 1, "heads": 2, "context": 32},
            "vocoder": {"dim": 16, "layers": 1},
        },
    ),
)


def entries(task: str | None = None, *, registry: tuple[ModelEntry, ...] | None = None) -> list[ModelEntry]:
    """All entries, or those of one task, in registry order."""
    table = REGISTRY if registry is None else registry
    return [e for e in table if task is None or e.task == task]


def get_entry(name: str, *, registry: tuple[ModelEntry, ...] | None = None) -> ModelEntry:
    """The entry called ``name``; :class:`ModelError` with the known names otherwise."""
    table = REGISTRY if registry is None else registry
    for entry in table:
        if entry.name == name:
            return entry
    known = ", ".join(e.name for e in table) or "none shipped yet"
    raise BadModelError(f"unknown model {name!r}", hint=f"known: {known}")


def check_task(entry: ModelEntry, task: str) -> ModelEntry:
    """``entry`` when it is a model of ``task``; :class:`BadModelError` otherwise."""
    if entry.task != task:
        raise BadModelError(f"model {entry.name!r} is for {entry.task!r}, not {task!r}")
    return entry


def default_entry(task: str, *, registry: tuple[ModelEntry, ...] | None = None) -> ModelEntry:
    """The default model of ``task``."""
    for entry in entries(task, registry=registry):
        if entry.default:
            return entry
    raise ModelError(f"no default model for task {task!r}")
