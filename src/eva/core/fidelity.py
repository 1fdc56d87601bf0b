"""Human-to-robot fidelity: MediaPipe's blendshapes on both faces, per expression group, over a clip.

The same model (MediaPipe's face blendshapes, which nobody here wrote) reads the
human frame and the executed robot face, so it judges both alike. Per group
(mean of its blendshapes) two figures: the Pearson correlation of human and robot
over time, where the human moves, and the mean absolute level difference. Both are
compared with baselines (a robot held at rest, random commands) by the caller.
"""
from __future__ import annotations

import numpy as np

# MediaPipe's 52 face blendshapes in the order it reports them (alphabetical, "_neutral" first).
BLENDSHAPE_NAMES: tuple[str, ...] = (
    "_neutral", "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft", "browOuterUpRight", "cheekPuff",
    "cheekSquintLeft", "cheekSquintRight", "eyeBlinkLeft", "eyeBlinkRight", "eyeLookDownLeft", "eyeLookDownRight",
    "eyeLookInLeft", "eyeLookInRight", "eyeLookOutLeft", "eyeLookOutRight", "eyeLookUpLeft", "eyeLookUpRight",
    "eyeSquintLeft", "eyeSquintRight", "eyeWideLeft", "eyeWideRight", "jawForward", "jawLeft", "jawOpen", "jawRight",
    "mouthClose", "mouthDimpleLeft", "mouthDimpleRight", "mouthFrownLeft", "mouthFrownRight", "mouthFunnel",
    "mouthLeft", "mouthLowerDownLeft", "mouthLowerDownRight", "mouthPressLeft", "mouthPressRight", "mouthPucker",
    "mouthRight", "mouthRollLower", "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper", "mouthSmileLeft",
    "mouthSmileRight", "mouthStretchLeft", "mouthStretchRight", "mouthUpperUpLeft", "mouthUpperUpRight",
    "noseSneerLeft", "noseSneerRight")

# Expression groups: name -> MediaPipe blendshape names (their mean is the group's value).
GROUPS: dict[str, tuple[str, ...]] = {
    "jaw_open": ("jawOpen",),
    "smile": ("mouthSmileLeft", "mouthSmileRight"),
    "frown": ("mouthFrownLeft", "mouthFrownRight"),
    "brow_raise": ("browInnerUp", "browOuterUpLeft", "browOuterUpRight"),
    "brow_lower": ("browDownLeft", "browDownRight"),
    "lower_lip_down": ("mouthLowerDownLeft", "mouthLowerDownRight"),
}

# A group "moves" in a clip when the human's value has at least this standard deviation;
# correlation is undefined (None) for a group the human holds still.
MOVING_STD = 0.03
# A robot group with less spread than this is still: its correlation with the human is 0.
STILL_STD = 1e-4


def group_values(blendshapes: np.ndarray, names) -> np.ndarray:
    """(T, 52) blendshape scores with their ``names`` -> (T, len(GROUPS)) group values (NaN rows stay NaN).

    Raises:
        KeyError: a group's blendshape is not among ``names``.
    """
    index = {n: i for i, n in enumerate(names)}
    blend = np.asarray(blendshapes, np.float64)
    cols = []
    for group, members in GROUPS.items():
        missing = [m for m in members if m not in index]
        if missing:
            raise KeyError(f"group {group}: blendshapes {missing} are not in the given names")
        cols.append(blend[:, [index[m] for m in members]].mean(axis=1))
    return np.stack(cols, axis=1) if cols else np.zeros((len(blend), 0))


def correlation(human: np.ndarray, robot: np.ndarray) -> float | None:
    """Pearson correlation over frames where both are finite; None when the human does not move."""
    ok = np.isfinite(human) & np.isfinite(robot)
    if ok.sum() < 3 or human[ok].std() < MOVING_STD:
        return None
    if robot[ok].std() < STILL_STD:
        return 0.0
    return float(np.corrcoef(human[ok], robot[ok])[0, 1])


def level_difference(human: np.ndarray, robot: np.ndarray) -> float | None:
    """Mean absolute difference over frames where both are finite (None: no such frame)."""
    ok = np.isfinite(human) & np.isfinite(robot)
    return float(np.abs(human[ok] - robot[ok]).mean()) if ok.any() else None


def blendshape_vector(scores: dict | None) -> np.ndarray:
    """A face's blendshape scores (name -> score) as a (52,) float32 row in `BLENDSHAPE_NAMES` order; NaN: none."""
    if not scores:
        return np.full(len(BLENDSHAPE_NAMES), np.nan, np.float32)
    return np.array([scores.get(n, np.nan) for n in BLENDSHAPE_NAMES], np.float32)


def mean_defined(values) -> float | None:
    """The mean of the values that are not None (None when there are none)."""
    vals = [v for v in values if v is not None]
    return float(np.mean(vals)) if vals else None


def fidelity(human: np.ndarray, robots: dict[str, np.ndarray], names) -> dict:
    """Per group and overall: correlation and level difference of each robot series with the human's.

    Args:
        human: (T, 52) the human's blendshape scores per frame (NaN rows: no face).
        robots: label -> (T, 52) robot scores per frame, e.g. ``{"robot": ..., "rest": ..., "random": ...}``.
        names: the 52 blendshape names, in column order.

    Returns:
        ``{"groups": {group: {"human_moves": bool, "human_std": s, label: {"correlation", "level_difference"}}},
        "overall": {label: {"correlation": mean over moving groups, "level_difference": mean over groups}}}``.
    """
    h = group_values(human, names)
    series = {label: group_values(r, names) for label, r in robots.items()}
    groups = {}
    for j, group in enumerate(GROUPS):
        ok = np.isfinite(h[:, j])
        entry = {"human_moves": bool(ok.sum() >= 3 and h[ok, j].std() >= MOVING_STD),
                 "human_std": float(h[ok, j].std()) if ok.any() else None}
        for label, r in series.items():
            entry[label] = {"correlation": correlation(h[:, j], r[:, j]),
                            "level_difference": level_difference(h[:, j], r[:, j])}
        groups[group] = entry
    overall = {label: {"correlation": mean_defined(g[label]["correlation"] for g in groups.values()),
                       "level_difference": mean_defined(g[label]["level_difference"] for g in groups.values())}
               for label in series}
    return {"groups": groups, "overall": overall}
