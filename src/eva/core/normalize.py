"""Human -> robot landmark normalization (paper IV-B), and what we add to it.

The paper maps each human landmark coordinate into the robot's range with
``L_R = (L_H - H_min)(R_max - R_min) / (H_max - H_min) + R_min`` (per landmark
and axis), ranges taken from sampled human and robot frames. A live camera adds
what a dataset hides: the head moves, turns and changes distance. So:

1. ``align``: a 2-D similarity (rotation, scale, translation) fitted on rigid
   points (eye corners, nose bridge) maps the human face onto the robot's neutral
   face first: head motion and face size drop out, expression stays.
2. ``mode="minmax"`` (the paper): per-landmark min-max into the robot ranges. The
   human ranges come from a calibration (``human_lo``/``human_hi``, e.g. from a
   clip) or, without one, grow with what this user has shown so far, never
   narrower than ``min_span`` of the robot's span (a still face is not blown up).
3. ``mode="neutral"``: the first ``neutral_frames`` face frames of a user define
   their neutral face; the output is the robot's neutral plus ``gain`` times the
   (aligned) displacement from it. While calibrating, the output is the robot's
   neutral. A face lost for ``user_timeout_s`` starts a new user.
4. ``mode="retarget"``: the user's neutral face goes to the robot's rest and
   their expression intensity onto the robot's range, from the first frame on.
   The neutral is the mean of the user's first ``neutral_frames`` face frames
   (``neutral_from="first"``, growing frame by frame until then), or a
   per-coordinate percentile of the last ``history_frames`` aligned frames
   (``"history"``: it follows drift, but reads a user who is expressive half the
   time as half-expressive at rest; it scored lower on the development clips), or
   region by region from the user's calmest frames (``"calm"``): the brows' neutral
   is the mean of the ``neutral_frames`` history frames in which MediaPipe's
   blendshapes show the least brow activity, the mouth's those with the least
   mouth activity, the eyes' likewise (:func:`region_activity`). Closed eyes count
   as brow activity (``calm_brows_open_eyes``): an eye squeezed shut draws the
   brows down and together, which MediaPipe's brow scores hardly register, so a
   user who cries with her eyes shut would otherwise get her knitted brows as her
   neutral. A user who starts
   with raised brows and then smiles gets the brows of the smiling frames and the
   mouth of the first ones, not a neutral that is expressive in both. A
   displacement from it is scaled per landmark, axis and side, so that the user's
   ``extent_pct`` percentile displacement over the history reaches the robot's
   range from its rest (gain at most ``1 / min_extent``).
   With an expression prior (``neutral_prior``, :func:`fit_expression_prior`), each
   frame's estimate of the neutral is its landmarks minus the displacement that its
   blendshapes predict (scores above what the robot reads at rest), so a user whose
   first frames are all expressive (brows raised before any calm frame) still gets a
   neutral below them. The prior is fitted on the robot's babbling images, aligned
   like the human (MediaPipe's blendshapes -> landmarks, per region), with no human
   labels; it needs ``align``.
5. One-Euro smoothing of the output (``filter``), in robot pixels.

All points are (53, 2) in the paper's landmark order (``eva.core.landmarks``);
robot points are in the model's pixel frame.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from eva.core.config import build_dataclass
from eva.core.fidelity import BLENDSHAPE_NAMES
from eva.core.filters import OneEuroFilter

# Paper-53 indices that an expression hardly moves: nose bridge, the four eye corners.
RIGID_POINTS: tuple[int, ...] = (10, 11, 12, 13, 19, 22, 25, 28)
MODES = ("minmax", "neutral", "retarget")
NEUTRAL_FROM = ("first", "history", "calm")

# Regions of the 53 points whose neutral neutral_from="calm" estimates separately, and the
# MediaPipe blendshapes whose largest score is the region's activity in a frame.
REGIONS: dict[str, tuple[slice, ...]] = {
    "brows": (slice(0, 10),),                                 # both brows
    "eyes": (slice(10, 14), slice(19, 31), slice(51, 53)),   # nose bridge, eyes, pupils
    "mouth": (slice(14, 19), slice(31, 51)),                 # nose base, lips
}
REGION_BLENDSHAPES: dict[str, tuple[str, ...]] = {
    "brows": ("browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft", "browOuterUpRight"),
    "eyes": ("eyeBlinkLeft", "eyeBlinkRight", "eyeSquintLeft", "eyeSquintRight", "eyeWideLeft", "eyeWideRight"),
    "mouth": ("jawOpen", "mouthSmileLeft", "mouthSmileRight", "mouthFrownLeft", "mouthFrownRight",
              "mouthLowerDownLeft", "mouthLowerDownRight", "mouthUpperUpLeft", "mouthUpperUpRight",
              "mouthPucker", "mouthFunnel", "mouthStretchLeft", "mouthStretchRight", "noseSneerLeft",
              "noseSneerRight"),
}
# With calm_brows_open_eyes, these also count toward the brows' activity: eyes shut (squeezed, as in
# crying) pull the brows down, and MediaPipe's brow scores read such a face as calm brows.
BROW_EYE_CLOSURE: tuple[str, ...] = ("eyeBlinkLeft", "eyeBlinkRight")
assert sorted(i for sl in REGIONS.values() for s in sl for i in range(s.start, s.stop)) == list(range(53))
_REGION_INDEX = {r: [BLENDSHAPE_NAMES.index(n) for n in names] for r, names in REGION_BLENDSHAPES.items()}
_CALM_INDEX = dict(_REGION_INDEX, brows=_REGION_INDEX["brows"] + [BLENDSHAPE_NAMES.index(n) for n in BROW_EYE_CLOSURE])
REGION_POINTS: dict[str, np.ndarray] = {  # region -> its indices among the 53 points
    r: np.concatenate([np.arange(s.start, s.stop) for s in slices]) for r, slices in REGIONS.items()}


def region_activity(blendshapes, brows_open_eyes: bool = True) -> np.ndarray | None:
    """(52,) MediaPipe blendshape scores in ``BLENDSHAPE_NAMES`` order -> (len(REGIONS),) activity per region.

    A region's activity is the largest score among its blendshapes; with
    ``brows_open_eyes`` the brows' also counts eye closure (``BROW_EYE_CLOSURE``).
    None or a row with a non-finite score among them gives None (no reading this frame).
    """
    if blendshapes is None:
        return None
    b = np.asarray(blendshapes, np.float64)
    if b.shape != (len(BLENDSHAPE_NAMES),):
        raise ValueError(f"blendshapes: expected ({len(BLENDSHAPE_NAMES)},) scores, got shape {b.shape}")
    index = _CALM_INDEX if brows_open_eyes else _REGION_INDEX
    act = np.array([b[index[r]].max() for r in REGIONS])
    return act if np.isfinite(act).all() else None


@dataclass
class NormalizerConfig:
    """How human landmarks become robot landmarks (mirrored in config/mimic.yaml's normalizer)."""

    mode: str = "retarget"        # "retarget" (chosen by fidelity), "minmax" (paper IV-B) or "neutral"
    align: bool = True            # remove head pose and face size first (similarity on RIGID_POINTS)
    min_span: float = 1.0         # minmax without calibration: human span >= min_span * robot span
    neutral_frames: int = 30      # neutral/retarget: frames averaged into the user's neutral face
    gain: float = 1.0             # neutral/retarget: robot displacement per (scaled) aligned human displacement
    user_timeout_s: float = 2.0   # neutral/retarget: a face lost this long starts a new user
    history_frames: int = 900     # retarget: aligned frames the neutral and extents are estimated from
    neutral_pct: float = 50.0     # retarget: per-coordinate percentile of the history taken as neutral
    neutral_from: str = "calm"    # retarget: "first" (the first neutral_frames frames), "history" (the percentile)
    #                               or "calm" (per region, the neutral_frames calmest history frames by blendshapes)
    calm_brows_open_eyes: bool = True  # retarget calm: closed eyes count as brow activity (eyes shut pull the brows
    #                               down, which the brow scores miss), so crying is not taken as calm brows
    neutral_prior: bool = True    # retarget first/calm: subtract the displacement the frame's blendshapes predict
    #                               (the expression prior, when the normalizer has one) from its neutral estimate
    extent_pct: float = 98.0      # retarget: percentile of |displacement| mapped onto the robot's range
    min_extent: float = 0.5       # retarget: human extent >= this x the robot's (gain <= 1 / min_extent)
    clip_margin: float = 0.25     # outputs are kept within the robot range widened by this fraction
    filter: bool = True           # One-Euro smoothing of the output
    min_cutoff_hz: float = 1.5    # One-Euro cutoff at rest (lower = smoother)
    beta: float = 0.05            # One-Euro speed coefficient, per robot px/s (higher = less lag)
    d_cutoff_hz: float = 1.0      # One-Euro cutoff of the speed estimate

    def __post_init__(self):
        if self.mode not in MODES:
            raise ValueError(f"normalizer mode must be one of {MODES}, got {self.mode!r}")
        if self.min_span <= 0:
            raise ValueError(f"normalizer min_span must be > 0, got {self.min_span}")
        if self.neutral_frames < 1:
            raise ValueError(f"normalizer neutral_frames must be >= 1, got {self.neutral_frames}")
        if self.neutral_from not in NEUTRAL_FROM:
            raise ValueError(f"normalizer neutral_from must be one of {NEUTRAL_FROM}, got {self.neutral_from!r}")
        if self.history_frames < 1 or not 0 <= self.neutral_pct <= 100 or not 50 < self.extent_pct <= 100 \
                or self.min_extent <= 0:
            raise ValueError("normalizer retarget parameters must be history_frames >= 1, 0 <= neutral_pct <= 100, "
                             "50 < extent_pct <= 100, min_extent > 0")
        if self.user_timeout_s <= 0 or self.clip_margin < 0:
            raise ValueError("normalizer user_timeout_s must be > 0 and clip_margin >= 0, "
                             f"got {self.user_timeout_s}, {self.clip_margin}")
        if self.min_cutoff_hz <= 0 or self.d_cutoff_hz <= 0 or self.beta < 0:
            raise ValueError("normalizer One-Euro parameters must be min_cutoff_hz > 0, d_cutoff_hz > 0, beta >= 0")

    @property
    def uses_prior(self) -> bool:
        """True when an expression prior would be used: retarget, first/calm neutral, ``neutral_prior``, ``align``."""
        return self.mode == "retarget" and self.neutral_from in ("first", "calm") and self.neutral_prior and self.align

    @classmethod
    def from_dict(cls, values: dict) -> "NormalizerConfig":
        """Builds a config from a mapping, naming any unknown key."""
        return build_dataclass(cls, values, "normalizer")


def fit_expression_prior(blendshapes, landmarks, rest_blendshapes, reference=None,
                         ridge: float = 1e-4) -> np.ndarray:
    """Linear landmark displacement per unit blendshape score, region by region (robot babbling images).

    Args:
        blendshapes: (N, 52) MediaPipe scores in ``BLENDSHAPE_NAMES`` order; rows with a
            non-finite score are left out.
        landmarks: (N, 53, 2) the same images' landmarks (px).
        rest_blendshapes: (52,) the scores read on the robot at rest.
        reference: optional (53, 2) face (the robot at rest) each frame is first aligned
            onto (:func:`align_to`), as the normalizer aligns the human: the fit is then
            in that frame, where the rigid points hardly move.
        ridge: ridge penalty per sample on the slopes (the intercept is free).

    Returns:
        (52, 53, 2) px per unit score: a region's points depend only on its own
        blendshapes (``REGION_BLENDSHAPES``), other entries are 0. The displacement of a
        frame with scores b from a face reading ``rest_blendshapes`` is
        ``einsum("k,kpc->pc", b - rest, prior)``.
    """
    b = np.asarray(blendshapes, np.float64)
    pts = np.asarray(landmarks, np.float64)
    if b.ndim != 2 or b.shape[1] != len(BLENDSHAPE_NAMES) or pts.shape != (len(b), 53, 2):
        raise ValueError(f"fit_expression_prior needs (N, {len(BLENDSHAPE_NAMES)}) blendshapes and (N, 53, 2) "
                         f"landmarks, got {b.shape} and {pts.shape}")
    rest = np.asarray(rest_blendshapes, np.float64)
    if rest.shape != (len(BLENDSHAPE_NAMES),) or not np.isfinite(rest).all():
        raise ValueError(f"rest_blendshapes must be {len(BLENDSHAPE_NAMES)} finite scores, got shape {rest.shape}")
    ok = np.isfinite(b).all(axis=1) & np.isfinite(pts).all(axis=(1, 2))
    b, pts = b[ok], pts[ok]
    if reference is not None:
        pts = align_all(pts, reference)
    prior = np.zeros((len(BLENDSHAPE_NAMES), 53, 2))
    for region, points in REGION_POINTS.items():
        cols = _REGION_INDEX[region]
        if len(b) <= len(cols):
            raise ValueError(f"fit_expression_prior: {len(b)} frames with a face are too few for the "
                             f"{len(cols)} {region} blendshapes")
        x = np.c_[b[:, cols] - rest[cols], np.ones(len(b))]
        y = pts[:, points].reshape(len(b), -1)
        penalty = ridge * len(b) * np.eye(x.shape[1])
        penalty[-1, -1] = 0.0
        w = np.linalg.solve(x.T @ x + penalty, x.T @ y)[:-1]  # (K, P*2) slopes
        prior[np.ix_(cols, points)] = w.reshape(len(cols), len(points), 2)
    return prior


def similarity_fit(src: np.ndarray, dst: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Least-squares 2-D similarity ``dst ~ s * R @ src + t`` (Umeyama), no reflection.

    Args:
        src, dst: (K, 2) corresponding points, K >= 2.

    Returns:
        (scale s, rotation R (2, 2), translation t (2,)).
    """
    src, dst = np.asarray(src, np.float64), np.asarray(dst, np.float64)
    mu_s, mu_d = src.mean(0), dst.mean(0)
    a, b = src - mu_s, dst - mu_d
    var = (a ** 2).sum() / len(a)
    if var < 1e-12:
        raise ValueError("similarity_fit: the source points coincide")
    u, sig, vt = np.linalg.svd(b.T @ a / len(a))
    d = np.diag([1.0, np.sign(np.linalg.det(u @ vt)) or 1.0])
    rot = u @ d @ vt
    scale = float((sig * np.diag(d)).sum() / var)
    return scale, rot, mu_d - scale * rot @ mu_s


def align_to(points: np.ndarray, reference: np.ndarray, rigid=RIGID_POINTS) -> np.ndarray:
    """Maps ``points`` (53, 2) by the similarity that best fits their rigid points onto ``reference``'s."""
    idx = list(rigid)
    s, rot, t = similarity_fit(points[idx], reference[idx])
    return (s * (np.asarray(points, np.float64) @ rot.T) + t).astype(np.float32)


def align_all(points: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """:func:`align_to` on each of (N, 53, 2) frames (float64); frames with a non-finite point stay as they are."""
    ref = _check53(reference, "reference")
    pts = np.array(points, np.float64)
    for k, p in enumerate(pts):
        if np.isfinite(p).all():
            pts[k] = align_to(p, ref)
    return pts


def minmax_map(points: np.ndarray, h_lo, h_hi, r_lo, r_hi) -> np.ndarray:
    """The paper's IV-B mapping, per landmark and axis (a zero human span maps to the range's centre)."""
    h_lo, h_hi, r_lo, r_hi = (np.asarray(a, np.float64) for a in (h_lo, h_hi, r_lo, r_hi))
    span = h_hi - h_lo
    ok = np.abs(span) > 1e-9
    frac = np.where(ok, (np.asarray(points, np.float64) - h_lo) / np.where(ok, span, 1.0), 0.5)
    return (frac * (r_hi - r_lo) + r_lo).astype(np.float32)


class Normalizer:
    """Stateful human -> robot landmark mapping for one camera stream.

    Args:
        config: a :class:`NormalizerConfig`.
        robot_lo, robot_hi: (53, 2) robot landmark ranges (the checkpoint's, model px).
        robot_neutral: (53, 2) the robot's neutral landmarks (model px).
        human_lo, human_hi: optional (53, 2) calibrated human ranges, in the aligned frame
            when ``config.align`` (see :meth:`human_frame`), else in camera px.
        expression_prior: optional ``(prior, rest)``: (52, 53, 2) displacement per unit
            blendshape score in model px (:func:`fit_expression_prior`, scaled to this
            frame) and the (52,) scores the robot reads at rest. Used by retarget's
            first/calm neutral when ``config.neutral_prior`` and ``config.align`` (the
            prior lives in the aligned frame), on frames that come with blendshapes.
    """

    def __init__(self, config: NormalizerConfig, robot_lo, robot_hi, robot_neutral,
                 human_lo=None, human_hi=None, expression_prior=None):
        self.config = config
        self.r_lo, self.r_hi, self.r_neutral = (_check53(a, name) for a, name in (
            (robot_lo, "robot_lo"), (robot_hi, "robot_hi"), (robot_neutral, "robot_neutral")))
        if (human_lo is None) != (human_hi is None):
            raise ValueError("give both human_lo and human_hi, or neither")
        self.calibrated = human_lo is not None
        self.h_lo = _check53(human_lo, "human_lo") if self.calibrated else None
        self.h_hi = _check53(human_hi, "human_hi") if self.calibrated else None
        self.prior = self.prior_rest = None
        if expression_prior is not None:
            prior, rest = (np.asarray(a, np.float64) for a in expression_prior)
            n = len(BLENDSHAPE_NAMES)
            if prior.shape != (n, 53, 2) or rest.shape != (n,) or not (np.isfinite(prior).all()
                                                                         and np.isfinite(rest).all()):
                raise ValueError(f"expression_prior must be finite ({n}, 53, 2) displacements and ({n},) rest "
                                 f"scores, got shapes {prior.shape} and {rest.shape}")
            self.prior, self.prior_rest = prior.reshape(n, -1), rest
        self._filter = OneEuroFilter(config.min_cutoff_hz, config.beta, config.d_cutoff_hz)
        margin = config.clip_margin * (self.r_hi - self.r_lo)
        self._out_lo, self._out_hi = self.r_lo - margin, self.r_hi + margin
        self.reset()

    def reset(self) -> None:
        """Forgets the current user: neutral, seen ranges and filter state."""
        self._neutral_sum = np.zeros((53, 2))
        self._neutral_n = 0
        self._seen_lo = self._seen_hi = None
        self._history = np.empty((self.config.history_frames, 53, 2), np.float32)
        self._estimate = self._history  # first/calm: each frame's neutral estimate (its own copy with a prior)
        if self.prior is not None and self.config.uses_prior:
            self._estimate = np.empty_like(self._history)
        self._activity = np.full((self.config.history_frames, len(REGIONS)), np.inf)  # calm: per region
        self._n_history = 0
        self._stats = None  # retarget: (neutral, extent up, extent down), refreshed as the history grows
        self._first = None  # retarget with neutral_from "first": the mean of the user's first frames
        self._last_face_s: float | None = None
        self._filter.reset()

    @property
    def calibrating(self) -> bool:
        """True while neutral mode is still collecting the user's neutral face."""
        return self.config.mode == "neutral" and self._neutral_n < self.config.neutral_frames

    def human_frame(self, human_px: np.ndarray) -> np.ndarray:
        """Camera-px human landmarks -> the frame the human ranges live in (aligned or as is)."""
        pts = _check53(human_px, "human landmarks")
        return align_to(pts, self.r_neutral) if self.config.align else pts

    def __call__(self, human_px: np.ndarray | None, t_s: float, activity=None,
                 blendshapes=None) -> np.ndarray | None:
        """Maps one frame's landmarks (53, 2) camera px at time ``t_s`` (s) to robot model px.

        ``None`` (no face) returns None and, after ``user_timeout_s`` without a
        face, forgets the user. ``blendshapes``: this frame's (52,) MediaPipe scores
        (``BLENDSHAPE_NAMES`` order), for the calm neutral's activity and the
        expression prior; ``activity`` instead gives :func:`region_activity` alone.
        A frame without either is never preferred as calm, so with none at all the
        neutral is the oldest ``neutral_frames`` of the history (the user's first
        frames until ``history_frames`` have passed).
        """
        cfg = self.config
        scores = None
        if blendshapes is not None:
            scores = np.asarray(blendshapes, np.float64)
            if scores.shape != (len(BLENDSHAPE_NAMES),):
                raise ValueError(f"blendshapes: expected ({len(BLENDSHAPE_NAMES)},) scores, got shape {scores.shape}")
            if activity is None:
                activity = region_activity(scores, cfg.calm_brows_open_eyes)
        if human_px is None or not np.isfinite(human_px).all():
            if self._last_face_s is not None and t_s - self._last_face_s > cfg.user_timeout_s:
                self.reset()
            return None
        if self._last_face_s is not None and t_s - self._last_face_s > cfg.user_timeout_s:
            self.reset()
        self._last_face_s = float(t_s)
        h = self.human_frame(human_px)
        if cfg.mode == "neutral":
            out = self._neutral(h)
        elif cfg.mode == "retarget":
            out = self._retarget(h, activity, scores)
        else:
            out = minmax_map(h, *self._human_ranges(h), self.r_lo, self.r_hi)
        out = np.clip(out, self._out_lo, self._out_hi)
        if cfg.filter:
            out = self._filter(out, t_s).astype(np.float32)
        return out

    def _neutral(self, h: np.ndarray) -> np.ndarray:
        if self.calibrating:
            self._neutral_sum += h
            self._neutral_n += 1
            return self.r_neutral.copy()
        h_neutral = self._neutral_sum / self._neutral_n
        return (self.r_neutral + self.config.gain * (h - h_neutral)).astype(np.float32)

    # Statistics are refreshed on every frame while the history is short, then every REFRESH frames:
    # the two percentiles over 900 x 106 values take ~2.6 ms, so a frame averages 0.48 ms (minmax: 0.20 ms),
    # measured here over 1,500 frames.
    REFRESH = 10

    def _retarget(self, h: np.ndarray, activity=None, scores=None) -> np.ndarray:
        cfg, n = self.config, self._n_history
        slot = n % cfg.history_frames
        self._history[slot] = h
        if self._estimate is not self._history:  # the neutral this frame suggests: h less its expression
            self._estimate[slot] = h if scores is None else h - self._expression(scores)
        if activity is None:
            self._activity[slot] = np.inf
        else:
            act = np.asarray(activity, np.float64)
            if act.shape != (len(REGIONS),):
                raise ValueError(f"activity: expected ({len(REGIONS)},) region scores, got shape {act.shape}")
            self._activity[slot] = np.where(np.isfinite(act), act, np.inf)
        self._n_history = n + 1
        if self._stats is None or n < 30 or n % self.REFRESH == 0:
            k = min(self._n_history, cfg.history_frames)
            hist = self._history[:k]
            if cfg.neutral_from == "first":  # the user's first frames (kept once the history wraps)
                if self._first is None or self._n_history <= cfg.neutral_frames:
                    self._first = self._estimate[:min(k, cfg.neutral_frames)].mean(axis=0)
                neutral = self._first
            elif cfg.neutral_from == "calm":
                neutral = self._calm_neutral(k)
            else:
                neutral = np.percentile(hist, cfg.neutral_pct, axis=0)
            d = hist - neutral
            up = np.percentile(np.maximum(d, 0), cfg.extent_pct, axis=0)
            down = np.percentile(np.maximum(-d, 0), cfg.extent_pct, axis=0)
            r_up, r_down = self.r_hi - self.r_neutral, self.r_neutral - self.r_lo
            self._stats = (neutral, np.maximum(r_up, 0) / np.maximum(up, cfg.min_extent * r_up + 1e-6),
                           np.maximum(r_down, 0) / np.maximum(down, cfg.min_extent * r_down + 1e-6))
        neutral, gain_up, gain_down = self._stats
        d = h - neutral
        return (self.r_neutral + cfg.gain * np.where(d > 0, d * gain_up, d * gain_down)).astype(np.float32)

    def _expression(self, scores: np.ndarray) -> np.ndarray:
        """(53, 2) displacement the prior predicts for scores above the robot's rest reading.

        Only activation beyond what the robot reads at rest counts: a calm user whose
        scores are below the robot's rest (its eyes read squinting at rest) is not
        moved. A score MediaPipe did not give (NaN) counts as rest.
        """
        act = np.clip(np.nan_to_num(scores, nan=0.0), 0.0, 1.0) - self.prior_rest
        act[~np.isfinite(scores)] = 0.0
        return (np.maximum(act, 0.0) @ self.prior).reshape(53, 2)

    def _calm_neutral(self, k: int) -> np.ndarray:
        """Per region, the mean of the ``neutral_frames`` history frames with the least activity (ties: earliest)."""
        neutral = np.empty((53, 2))
        oldest = self._n_history % k if self._n_history > k else 0  # the ring buffer's oldest slot
        age_rank = (np.arange(k) - oldest) % k  # 0 for the oldest frame in the history
        for r, slices in enumerate(REGIONS.values()):
            calm = np.lexsort((age_rank, self._activity[:k, r]))[:self.config.neutral_frames]
            mean = self._estimate[calm].mean(axis=0)
            for s in slices:
                neutral[s] = mean[s]
        return neutral

    def _human_ranges(self, h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self.calibrated:
            return self.h_lo, self.h_hi
        self._seen_lo = h.copy() if self._seen_lo is None else np.minimum(self._seen_lo, h)
        self._seen_hi = h.copy() if self._seen_hi is None else np.maximum(self._seen_hi, h)
        return widen(self._seen_lo, self._seen_hi, self.config.min_span * (self.r_hi - self.r_lo))


def widen(lo: np.ndarray, hi: np.ndarray, min_span: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ranges widened symmetrically about their centre to at least ``min_span``."""
    centre, half = (lo + hi) / 2, np.maximum(hi - lo, min_span) / 2
    return centre - half, centre + half


def human_ranges(aligned: np.ndarray, lo_pct: float = 1.0, hi_pct: float = 99.0) -> tuple[np.ndarray, np.ndarray]:
    """Calibrated human ranges from many frames (N, 53, 2) of the ``human_frame``: robust percentiles."""
    pts = np.asarray(aligned, np.float64)
    if pts.ndim != 3 or pts.shape[1:] != (53, 2) or not len(pts):
        raise ValueError(f"human_ranges needs (N, 53, 2) landmarks with N > 0, got {pts.shape}")
    return (np.nanpercentile(pts, lo_pct, axis=0).astype(np.float32),
            np.nanpercentile(pts, hi_pct, axis=0).astype(np.float32))


def _check53(a, name: str) -> np.ndarray:
    arr = np.asarray(a, np.float32)
    if arr.ndim != 2 or arr.shape[0] != 53 or arr.shape[1] < 2:
        raise ValueError(f"{name} must be (53, 2) landmarks, got shape {arr.shape}")
    return arr[:, :2]
