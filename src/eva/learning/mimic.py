"""The mimicry models: normalized human landmarks -> G -> self-image -> F -> motor commands.

Shared by the ROS nodes (normalizer, generator, inverse), ``eva demo`` and
``eva mimic-eval``. Everything comes from the self-contained checkpoints: the
generator's crop, robot landmark ranges and neutral face; the inverse model's
motor names and levels.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from eva.core.normalize import Normalizer, NormalizerConfig
from eva.learning.checkpoint import Loaded, load_checkpoint
from eva.learning.evaluate import CHECKPOINT_LAYOUT, DEFAULT_CHECKPOINTS
from eva.learning.predict import check_compatible, expected_commands, generate, predict_commands

HUMAN_RANGES_FORMAT = "eva-human-ranges-v1"


def resolve_device(device: str = "auto") -> str:
    """"auto" -> "cuda" when a GPU is present, else "cpu"; other values pass through."""
    if device != "auto":
        return device
    import torch
    return "cuda" if torch.cuda.is_available() else "cpu"


def checkpoint_path(checkpoints, role: str, seed: int = 0, explicit: str | None = None) -> Path:
    """An explicit file, else ``<checkpoints>/<role>/seed<seed>/best.pt`` (shipped ones by default)."""
    if explicit:
        return Path(explicit)
    return Path(checkpoints or DEFAULT_CHECKPOINTS) / CHECKPOINT_LAYOUT.format(role=role, seed=seed)


INVERSE_ROLES = ("auto", "inverse", "inverse-on-generated")


def inverse_role(checkpoints, seed: int = 0, choice: str = "auto") -> str:
    """Which inverse model the pipeline runs: F trained on G's images when the layout has it ("auto").

    ``inverse`` is the paper's F (trained on camera images); ``inverse-on-generated``
    is F trained on its seed's G images (``eva train inverse --on-generated``), what
    F sees in the pipeline (README: GM IM 74 -> 81 %).
    """
    if choice not in INVERSE_ROLES:
        raise ValueError(f"inverse role must be one of {INVERSE_ROLES}, got {choice!r}")
    if choice != "auto":
        return choice
    on_g = checkpoint_path(checkpoints, "inverse-on-generated", seed)
    return "inverse-on-generated" if on_g.is_file() else "inverse"


def robot_ranges(generator: Loaded) -> tuple[np.ndarray, np.ndarray]:
    """The generator's robot landmark ranges (R_min, R_max), each (53, 2) model px."""
    lo, hi = np.asarray(generator.meta["landmark_ranges"], np.float32)
    return lo, hi


def robot_neutral(generator: Loaded) -> np.ndarray:
    """The robot's neutral landmarks (53, 2) model px: those of the static self-image I_s.

    Checkpoints from before ``static_landmarks`` was stored fall back to the
    centre of the robot ranges.
    """
    if "static_landmarks" in generator.meta:
        return np.asarray(generator.meta["static_landmarks"], np.float32)[:, :2]
    lo, hi = robot_ranges(generator)
    return (lo + hi) / 2


def save_human_ranges(path, lo: np.ndarray, hi: np.ndarray, aligned: bool, frames: int) -> Path:
    """Writes calibrated human ranges (``eva.core.normalize.human_ranges``) to an .npz file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, format=HUMAN_RANGES_FORMAT, human_lo=np.asarray(lo, np.float32),
             human_hi=np.asarray(hi, np.float32), aligned=bool(aligned), frames=int(frames))
    return path


def load_human_ranges(path, aligned: bool) -> tuple[np.ndarray, np.ndarray]:
    """Reads a human-ranges file; ValueError naming the file when it is not one or its frame differs."""
    try:
        with np.load(path) as z:
            if str(z["format"]) != HUMAN_RANGES_FORMAT:
                raise KeyError("format")
            lo, hi, file_aligned = z["human_lo"], z["human_hi"], bool(z["aligned"])
    except (OSError, KeyError, ValueError) as err:
        raise ValueError(f"{path}: not an eva human-ranges file ({type(err).__name__}: {err})") from None
    if file_aligned != aligned:
        raise ValueError(f"{path}: ranges were calibrated with align={file_aligned}, the normalizer has align={aligned}")
    return lo, hi


def expression_prior_path(checkpoints, explicit: str | None = None) -> Path | None:
    """An explicit expression-prior file, else ``<checkpoints>/expression-prior/expression_prior.npz`` if it exists."""
    from eva.learning.prior import PRIOR_FILE
    if explicit:
        return Path(explicit)
    path = Path(checkpoints or DEFAULT_CHECKPOINTS) / PRIOR_FILE
    return path if path.is_file() else None


def make_normalizer(generator: Loaded, config: NormalizerConfig | None = None, human_ranges_file=None,
                    expression_prior_file=None) -> Normalizer:
    """A :class:`Normalizer` into ``generator``'s robot frame (its ranges and neutral face).

    ``expression_prior_file``: an ``eva train prior`` file (:mod:`eva.learning.prior`),
    scaled into the generator's model px; read only when ``config.uses_prior``.
    """
    from eva.learning.predict import face_crop
    from eva.learning.prior import ExpressionPrior, model_px_prior

    config = config or NormalizerConfig()
    lo, hi = robot_ranges(generator)
    human = load_human_ranges(human_ranges_file, config.align) if human_ranges_file else (None, None)
    prior = None
    if expression_prior_file and config.uses_prior:
        try:
            prior = model_px_prior(ExpressionPrior.load(expression_prior_file), face_crop(generator))
        except ValueError as err:
            msg = str(err) if str(expression_prior_file) in str(err) else f"{expression_prior_file}: {err}"
            raise ValueError(msg) from None
    return Normalizer(config, lo, hi, robot_neutral(generator), *human, expression_prior=prior)


@dataclass
class MimicModels:
    """The generator G and inverse model F of one seed, checked to fit together."""

    generator: Loaded
    inverse: Loaded
    expression_prior: Path | None = None  # the normalizer's expression prior file (None: without one)

    @classmethod
    def load(cls, checkpoints=None, seed: int = 0, device: str = "auto", generator: str | None = None,
             inverse: str | None = None, role: str = "auto") -> "MimicModels":
        """Loads ``generator/seed<k>`` and the inverse model of ``role`` (`inverse_role`) for seed k, or explicit files.

        Raises:
            CheckpointError: a file is missing or corrupt (named).
            ValueError: the two were trained on different crops, or a file holds another kind.
        """
        dev = resolve_device(device)
        g = load_checkpoint(checkpoint_path(checkpoints, "generator", seed, generator), dev)
        f = load_checkpoint(checkpoint_path(checkpoints, inverse_role(checkpoints, seed, role), seed, inverse), dev)
        for loaded, kind in ((g, "generator"), (f, "inverse")):
            if loaded.kind != kind:
                raise ValueError(f"{loaded.path}: holds a {loaded.kind} model where a {kind} is needed")
        check_compatible(g, f)
        return cls(g, f, None if generator else expression_prior_path(checkpoints))

    @property
    def motor_names(self) -> list[str]:
        """Motor order of the commands."""
        return list(self.inverse.meta["motor_names"])

    def normalizer(self, config: NormalizerConfig | None = None, human_ranges_file=None) -> Normalizer:
        """A :class:`Normalizer` into this generator's robot frame."""
        return make_normalizer(self.generator, config, human_ranges_file, self.expression_prior)

    def self_image(self, l53_model_px: np.ndarray, confidence=None) -> np.ndarray:
        """G: (53, 2) robot landmarks (model px) -> (H, W, 3) uint8 self-image."""
        return generate(self.generator, np.asarray(l53_model_px, np.float32)[None], confidence)[0]

    def commands(self, self_image: np.ndarray, continuous: bool = True) -> np.ndarray:
        """F: (H, W, 3) self-image -> (num_motors,) commands in [0, 1] (expected level or argmax)."""
        fn = expected_commands if continuous else predict_commands
        return fn(self.inverse, np.asarray(self_image)[None])[0]
