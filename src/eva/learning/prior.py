"""The expression prior: how the robot's landmarks move per unit of each MediaPipe blendshape.

Fitted on babbling images (no human labels): MediaPipe reads the robot's 52
blendshapes and landmarks on each, and :func:`eva.core.normalize.fit_expression_prior`
fits a linear displacement per region. The retarget normalizer subtracts what a
frame's blendshapes predict from that frame's estimate of the user's neutral face,
so a user who starts with an expression does not get it as their neutral.

The file (``<checkpoints>/expression-prior/expression_prior.npz``, from
``eva train prior``) holds the displacements in the babbling images' px; the
normalizer scales them into its generator's model px (:func:`model_px_prior`).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from eva.core.fidelity import BLENDSHAPE_NAMES
from eva.core.normalize import REGION_POINTS, REGIONS, align_all, fit_expression_prior

FORMAT = "eva-expression-prior-v1"
PRIOR_FILE = "expression-prior/expression_prior.npz"  # under a checkpoint root


@dataclass
class ExpressionPrior:
    """Landmark displacement per unit blendshape score, in the px of ``source_size`` images."""

    displacement: np.ndarray     # (52, 53, 2) px per unit score (0 outside a blendshape's region)
    rest_blendshapes: np.ndarray  # (52,) the scores read on the robot at rest (its static self-image)
    source_size: tuple[int, int]  # (width, height) of the images it was fitted on
    samples: int = 0              # images with a face it was fitted on
    r2: dict | None = None        # region -> R^2 of the fit on held-out (val split) images

    def save(self, path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        r2 = self.r2 or {}
        np.savez(path, format=FORMAT, displacement=self.displacement.astype(np.float32),
                 rest_blendshapes=self.rest_blendshapes.astype(np.float32),
                 source_size=np.array(self.source_size, np.int64), blendshape_names=np.array(BLENDSHAPE_NAMES),
                 samples=self.samples, regions=np.array(list(r2)), r2=np.array(list(r2.values()), np.float64))
        return path

    @classmethod
    def load(cls, path) -> "ExpressionPrior":
        """Raises ValueError naming the file when it is not an expression prior of MediaPipe's 52 blendshapes."""
        try:
            with np.load(path) as z:
                if str(z["format"]) != FORMAT or list(z["blendshape_names"]) != list(BLENDSHAPE_NAMES):
                    raise KeyError("format")
                prior = cls(np.asarray(z["displacement"], np.float64), np.asarray(z["rest_blendshapes"], np.float64),
                            tuple(int(v) for v in z["source_size"]), int(z["samples"]),
                            dict(zip((str(r) for r in z["regions"]), (float(v) for v in z["r2"]))))
        except (OSError, KeyError, ValueError, EOFError) as err:
            raise ValueError(f"{path}: not an eva expression-prior file ({type(err).__name__}: {err})") from None
        n = len(BLENDSHAPE_NAMES)
        if prior.displacement.shape != (n, 53, 2) or prior.rest_blendshapes.shape != (n,) \
                or not (np.isfinite(prior.displacement).all() and np.isfinite(prior.rest_blendshapes).all()):
            raise ValueError(f"{path}: expression prior arrays are not finite ({n}, 53, 2) and ({n},)")
        return prior


def model_px_prior(prior: ExpressionPrior, crop) -> tuple[np.ndarray, np.ndarray]:
    """(displacement in ``crop``'s model px, rest scores): what :class:`eva.core.normalize.Normalizer` takes."""
    scale = np.asarray(crop.for_source(prior.source_size).scale, np.float64)
    return prior.displacement * scale, prior.rest_blendshapes


def region_r2(prior_src: np.ndarray, rest, blendshapes, landmarks, reference=None) -> dict:
    """Per region, R^2 of the prior's prediction on other images (the intercept refitted as their mean offset).

    ``reference``: align the landmarks onto it first, as the prior was fitted. Fewer
    than 2 images with a face give NaN.
    """
    b = np.asarray(blendshapes, np.float64)
    pts = np.asarray(landmarks, np.float64)
    if reference is not None:
        pts = align_all(pts, reference)
    ok = np.isfinite(b).all(axis=1) & np.isfinite(pts).all(axis=(1, 2))
    b, pts = b[ok], pts[ok]
    if len(b) < 2:
        return {region: float("nan") for region in REGIONS}
    pred = np.einsum("nk,kpc->npc", b - np.asarray(rest, np.float64), prior_src)
    out = {}
    for region, idx in REGION_POINTS.items():
        y, p = pts[:, idx], pred[:, idx]
        res = (y - y.mean(0)) - (p - p.mean(0))
        out[region] = float(1 - (res ** 2).sum() / max(((y - y.mean(0)) ** 2).sum(), 1e-12))
    return out


def fit_from_export(data, out, samples: int = 3000, seed: int = 0, progress: bool = True) -> ExpressionPrior:
    """Fits on ``samples`` train-split images of a babbling export, scores on its val split, saves to ``out``."""
    from eva.learning.data import BabblingData
    from eva.learning.direct import robot_blendshapes

    d = data if isinstance(data, BabblingData) else BabblingData.open(data)
    rng = np.random.default_rng(seed)
    static = d.static_index()
    rest = robot_blendshapes(d.images[[static]], progress=False)[0]
    if not np.isfinite(rest).all():
        raise ValueError(f"{d.root}: MediaPipe finds no face on the static (rest) image {static}")
    reference = d.l53([static])[0][0]  # the robot at rest: both the fit and the normalizer align onto it
    picked = {}
    for split, n in (("train", samples), ("val", max(200, samples // 10))):
        idx = d.split(split, face_only=True)
        idx = np.sort(rng.choice(idx, size=min(n, len(idx)), replace=False))
        picked[split] = (robot_blendshapes(d.images[idx], progress), d.l53(idx)[0])
    displacement = fit_expression_prior(*picked["train"], rest, reference)
    used = int(np.isfinite(picked["train"][0]).all(axis=1).sum())
    prior = ExpressionPrior(displacement, rest.astype(np.float64), d.source_size, used,
                            region_r2(displacement, rest, *picked["val"], reference))
    prior.save(out)
    return prior

