"""Muscle warping of the face photo: precomputed displacement fields + one cv2.remap.

Backward warping: an output pixel p shows the photo at
``q - D_open(q)`` with ``q = p - sum_k a_k F_k(p)``, where F_k are the smooth
lobe fields of muscle k (precomputed float32, restricted to their support box)
and D_open parts the lips (jaw, lower lip). Rows inside the parted gap sample a
single line of the photo, so they are covered by the dark mouth interior.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import cv2
import numpy as np

from eva.sim.config import MuscleConfig, PhotoConfig, SimFaceConfig

_CUT = 3.75  # Gaussian support kept: exp(-3.75**2 / 2) < 1e-3 of the peak
_OPEN_CUT = 3.0  # lip-parting profiles are tapered to exactly 0 at 3 sigma (smaller work box)


@functools.lru_cache(maxsize=4)
def load_photo(source: str) -> np.ndarray:
    """The face photo as HxWx3 uint8 RGB (``"grace_hopper"``, ``"astronaut"`` or an image path).

    Both named photos are public domain and ship inside packages eva depends on:
    ``grace_hopper`` is matplotlib's sample ``grace_hopper.jpg`` (a closed, relaxed
    mouth: MediaPipe reads it as neutral), ``astronaut`` scikit-image's
    ``data.astronaut()`` (it smiles with its teeth at rest).
    """
    if source == "astronaut":
        from skimage import data  # public domain photo shipped inside scikit-image
        img = np.ascontiguousarray(data.astronaut()[..., :3])
    elif source == "grace_hopper":
        from matplotlib import cbook  # public domain sample photo shipped inside matplotlib
        with cbook.get_sample_data("grace_hopper.jpg") as f:
            bgr = cv2.imdecode(np.frombuffer(f.read(), np.uint8), cv2.IMREAD_COLOR)
        img = np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    else:
        bgr = cv2.imread(source, cv2.IMREAD_COLOR)
        if bgr is None:
            raise ValueError(f"photo.source: cannot read image {source!r}")
        img = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    img.flags.writeable = False  # shared by every renderer
    return img


def crop_transform(photo: PhotoConfig, width: int, height: int) -> tuple[float, float, float]:
    """(scale, tx, ty) with output = scale * photo_px + t (pixel centres aligned)."""
    s = height / photo.crop_height_px
    x0 = photo.crop_center_px[0] - 0.5 * width / s
    y0 = photo.crop_center_px[1] - 0.5 * height / s
    return s, s * (0.5 - x0) - 0.5, s * (0.5 - y0) - 0.5


def _crop(photo_rgb: np.ndarray, cfg: SimFaceConfig) -> np.ndarray:
    w, h = cfg.render.width, cfg.render.height
    s, tx, ty = crop_transform(cfg.photo, w, h)
    src = photo_rgb
    if s < 1.0:  # shrink with area averaging first, so downscaled renders do not alias
        src = cv2.resize(photo_rgb, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
        sx, sy = src.shape[1] / photo_rgb.shape[1], src.shape[0] / photo_rgb.shape[0]
        m = np.float32([[s / sx, 0, tx + 0.5 * (s / sx - 1)], [0, s / sy, ty + 0.5 * (s / sy - 1)]])
        interp = cv2.INTER_LINEAR
    else:
        m, interp = np.float32([[s, 0, tx], [0, s, ty]]), cv2.INTER_CUBIC
    return cv2.warpAffine(src, m, (w, h), flags=interp, borderMode=cv2.BORDER_REFLECT101)


def _side_gauss(d: np.ndarray, sig_neg: float, sig_pos: float) -> np.ndarray:
    sig = np.where(d < 0, sig_neg, sig_pos)
    return np.exp(-0.5 * (d / sig) ** 2)


@dataclass(eq=False)
class _Field:
    """A muscle's lobe field on its support box (output px at activation 1)."""

    box: tuple[int, int, int, int]  # y0, y1, x0, x1
    fx: np.ndarray  # float32 (y1-y0, x1-x0)
    fy: np.ndarray


@dataclass(eq=False)
class _Opening:
    """Look-up tables of a lip-parting muscle (output px)."""

    gap: float  # gap at mid-mouth at activation 1
    spread: np.ndarray  # (W,) horizontal profile of the lower-face motion
    a_lut: np.ndarray  # A(s) = evert * decay profile below the gap
    b_lut: np.ndarray  # B(s) = ramp(s) * A(s): lip profile -> chin profile
    s_max: float  # LUT covers s in [0, s_max]


def _tapered_gauss(t: np.ndarray) -> np.ndarray:
    """exp(-t^2/2) shifted and rescaled to reach 0 at |t| = _OPEN_CUT (1 at t = 0)."""
    cut = np.exp(-0.5 * _OPEN_CUT ** 2)
    return np.clip((np.exp(-0.5 * t * t) - cut) / (1.0 - cut), 0.0, 1.0)


def _smoothstep(t: np.ndarray) -> np.ndarray:
    t = np.clip(t, 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


class FaceRenderer:
    """Renders the face for given muscle activations; all fields built once for one size.

    Args:
        config: the face; its ``render`` size fixes the output size.
        photo_rgb: the source photo (default: ``load_photo(config.photo.source)``).
    """

    S_STEP = 0.25  # output px per entry of the below-gap LUTs

    def __init__(self, config: SimFaceConfig, photo_rgb: np.ndarray | None = None):
        self.config = config
        w, h = self.size = (config.render.width, config.render.height)
        if photo_rgb is None:
            photo_rgb = load_photo(config.photo.source)
        self.base = _crop(photo_rgb, config)  # (h, w, 3) uint8, the neutral face
        self.scale, self.tx, self.ty = crop_transform(config.photo, w, h)
        gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
        self.grid_x, self.grid_y = gx, gy
        self.fields = [self._lobe_field(m) if m.lobes else None for m in config.muscles]
        self.openings = [self._opening(m) if m.opening else None for m in config.muscles]
        self._mouth_setup()
        self._map_x = np.empty_like(gx)
        self._map_y = np.empty_like(gy)

    # ---------------------------------------------------------------- precompute
    def to_output(self, x_photo: float, y_photo: float) -> tuple[float, float]:
        """Photo px -> output px."""
        return self.scale * x_photo + self.tx, self.scale * y_photo + self.ty

    def _lobe_field(self, muscle: MuscleConfig) -> _Field | None:
        w, h = self.size
        s = self.scale
        boxes = []
        for lb in muscle.lobes:
            cx, cy = self.to_output(*lb.center_px)
            sl, sr, su, sd = (s * v for v in lb.sigma_px)
            boxes.append((int(np.floor(cy - _CUT * su)), int(np.ceil(cy + _CUT * sd)) + 1,
                          int(np.floor(cx - _CUT * sl)), int(np.ceil(cx + _CUT * sr)) + 1))
        y0, x0 = max(0, min(b[0] for b in boxes)), max(0, min(b[2] for b in boxes))
        y1, x1 = min(h, max(b[1] for b in boxes)), min(w, max(b[3] for b in boxes))
        if y1 <= y0 or x1 <= x0:
            return None  # the muscle lies outside this crop
        xx, yy = self.grid_x[y0:y1, x0:x1], self.grid_y[y0:y1, x0:x1]
        fx = np.zeros(xx.shape, np.float64)
        fy = np.zeros(xx.shape, np.float64)
        for lb in muscle.lobes:
            cx, cy = self.to_output(*lb.center_px)
            sl, sr, su, sd = (s * v for v in lb.sigma_px)
            wgt = _side_gauss(xx - cx, sl, sr) * _side_gauss(yy - cy, su, sd)
            fx += wgt * s * lb.pull_px[0]
            fy += wgt * s * lb.pull_px[1]
        return _Field((y0, y1, x0, x1), fx.astype(np.float32), fy.astype(np.float32))

    def _opening(self, muscle: MuscleConfig) -> _Opening:
        op, s = muscle.opening, self.scale
        xc, _ = self.to_output(*self.config.mouth.hinge_center_px)
        xs = np.arange(self.size[0], dtype=np.float64)
        spread = _tapered_gauss((xs - xc) / (s * op.spread_px))
        hold, decay, lip = s * op.hold_px, s * op.decay_px, s * op.lip_thickness_px
        s_max = hold + _OPEN_CUT * decay
        ss = np.arange(0.0, s_max + self.S_STEP, self.S_STEP)
        dec = np.where(ss < hold, 1.0, _tapered_gauss((ss - hold) / decay))
        a = (1.0 + op.evert * _smoothstep(ss / lip)) * dec
        b = _smoothstep(ss / (hold + decay)) * a  # long ramp: the skin beside the mouth stays unfolded
        return _Opening(s * op.gap_px, spread.astype(np.float32), a.astype(np.float32),
                        b.astype(np.float32), float(ss[-1]))

    def _mouth_setup(self) -> None:
        """Hinge curve and lip-gap profile (per output column) and the region they act on."""
        w, h = self.size
        mouth = self.config.mouth
        (xr, yr), (xc, yc), (xl, yl) = (self.to_output(*p) for p in (
            mouth.corner_right_px, mouth.hinge_center_px, mouth.corner_left_px))
        xs = np.arange(w, dtype=np.float64)
        coef = np.polyfit([xr, xc, xl], [yr, yc, yl], 2)  # parabola through corners and centre
        hinge = np.polyval(coef, np.clip(xs, xr, xl))  # flat beyond the corners
        t = np.where(xs < xc, (xs - xc) / (xr - xc), (xs - xc) / (xl - xc))
        self.hinge_lut = hinge.astype(np.float32)
        self.lip_lut = np.clip(1.0 - t * t, 0.0, 1.0).astype(np.float32)  # 1 mid-mouth, 0 at corners
        self.interior = np.float32(mouth.interior_rgb)
        self.tongue = np.float32(mouth.tongue_rgb)
        ops = [o for o, m in zip(self.openings, self.config.muscles) if o is not None]
        max_act = self.config.servo.max_activation
        # q = p - lobe displacement: the box must hold every p whose q can be in the mouth region
        margin = max_act * self.scale * max((max(abs(v) for lb in m.lobes for v in lb.pull_px)
                                             for m in self.config.muscles if m.lobes), default=0.0)
        reach = sum(max_act * self.scale * m.opening.gap_px * (1 + m.opening.evert)
                    for m in self.config.muscles if m.opening) + max((o.s_max for o in ops), default=0)
        spread = max((self.scale * m.opening.spread_px for m in self.config.muscles if m.opening),
                     default=0.0)
        y0 = int(np.clip(np.floor(min(yr, yl, yc) - margin - 2), 0, h))
        y1 = int(np.clip(np.ceil(yc + reach + margin + 2), 0, h))
        x0 = int(np.clip(np.floor(min(xr, xc - _OPEN_CUT * spread) - margin - 2), 0, w))
        x1 = int(np.clip(np.ceil(max(xl, xc + _OPEN_CUT * spread) + margin + 2), 0, w))
        self.mouth_box = (y0, y1, x0, x1)
        # LUTs as 1-row images, read with cv2.remap (10x faster than np.interp here):
        # per column [hinge, lip, spread_k...], per 0.25 px below the gap [A_k, B_k...]
        self._x_lut = np.stack([self.hinge_lut, self.lip_lut] + [o.spread for o in ops], -1)[None]
        n = max((o.a_lut.size for o in ops), default=1)
        pad = [np.pad(t, (0, n - t.size), mode="edge") for o in ops for t in (o.a_lut, o.b_lut)]
        self._s_lut = np.stack(pad, -1)[None] if pad else None
        self._lut_zeros = np.zeros((y1 - y0, x1 - x0), np.float32)

    # ---------------------------------------------------------------- per render
    def maps(self, activations) -> tuple[np.ndarray, np.ndarray, tuple | None]:
        """Backward maps for one pose.

        Args:
            activations: effective muscle activations, one per motor (>= 0).

        Returns:
            (map_x, map_y, interior): float32 (H, W) source coordinates for cv2.remap, and
            ``(alpha, depth)`` of the mouth interior on ``mouth_box`` (opacity, and position
            from the upper teeth 0 to the lower lip 1), or None when the lips are closed.
            The maps are internal buffers, overwritten by the next call.
        """
        act = np.asarray(activations, dtype=np.float64)
        mx, my = self._map_x, self._map_y
        np.copyto(mx, self.grid_x)
        np.copyto(my, self.grid_y)
        for a, f in zip(act, self.fields):
            if f is None or a <= 0:
                continue
            y0, y1, x0, x1 = f.box
            mx[y0:y1, x0:x1] -= np.float32(a) * f.fx
            my[y0:y1, x0:x1] -= np.float32(a) * f.fy
        # (activation, opening, its slot in the LUT channels) for the lip-parting muscles now active
        opening = [(a, o, j) for j, (a, o) in enumerate(
            (a, o) for a, o in zip(act, self.openings) if o is not None) if a > 0]
        y0, y1, x0, x1 = self.mouth_box
        if not opening or y1 <= y0 or x1 <= x0:
            return mx, my, None
        qx, qy = mx[y0:y1, x0:x1], my[y0:y1, x0:x1]  # views: qy is updated in place below
        xl = _lookup(self._x_lut, np.ascontiguousarray(qx), self._lut_zeros)
        lip = xl[..., 1]
        r = qy - xl[..., 0]  # px below the hinge
        gap = lip * np.float32(sum(a * o.gap for a, o, _ in opening))
        s = r - gap  # px below the parted gap
        sl = _lookup(self._s_lut, s * np.float32(1.0 / self.S_STEP), self._lut_zeros)
        drop = np.zeros_like(r)
        for a, o, k in opening:
            pa, pb, spread = sl[..., 2 * k], sl[..., 2 * k + 1], xl[..., 2 + k]
            drop += np.float32(a * o.gap) * (lip * pa + (spread - lip) * pb)
        drop = np.where(r <= 0, 0.0, np.where(s < 0, r, drop)).astype(np.float32)
        qy -= drop
        edge = np.float32(self.config.mouth.edge_px)
        alpha = np.clip(np.minimum(r, gap - r) / edge + 0.5, 0, 1) * np.clip(gap / edge, 0, 1)
        depth = r / np.maximum(gap, np.float32(1e-3))  # 0 at the upper teeth, 1 at the lower lip
        return mx, my, (alpha, depth)

    def render(self, activations) -> np.ndarray:
        """Noise-free HxWx3 uint8 RGB face for effective muscle activations."""
        mx, my, interior = self.maps(activations)
        img = cv2.remap(self.base, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT101)
        if interior is None:
            return img
        alpha, depth = interior
        rows, cols = np.nonzero(alpha.max(axis=1) > 0)[0], np.nonzero(alpha.max(axis=0) > 0)[0]
        if rows.size:  # blend only the box where the lips are parted
            r0, r1, c0, c1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
            y0, _, x0, _ = self.mouth_box
            al = alpha[r0:r1, c0:c1, None]
            tongue = 0.8 * _smoothstep((depth[r0:r1, c0:c1, None] - 0.35) / 0.65)  # lit toward the lip
            colour = self.interior + tongue * (self.tongue - self.interior)
            patch = img[y0 + r0:y0 + r1, x0 + c0:x0 + c1]
            patch[:] = (patch + al * (colour - patch) + 0.5).astype(np.uint8)
        return img


def _lookup(table: np.ndarray, index: np.ndarray, zeros: np.ndarray) -> np.ndarray:
    """Linear look-up in a (1, N, C) float32 table at fractional ``index``: (..., C)."""
    outs = []
    for c0 in range(0, table.shape[2], 4):  # cv2.remap takes at most 4 channels
        sub = np.ascontiguousarray(table[:, :, c0:c0 + 4])
        res = cv2.remap(sub, index, zeros, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        outs.append(res.reshape(*index.shape, -1))
    return outs[0] if len(outs) == 1 else np.concatenate(outs, axis=-1)


@functools.lru_cache(maxsize=8)
def get_renderer(config: SimFaceConfig) -> FaceRenderer:
    """A shared `FaceRenderer` per config (fields are built once per size)."""
    return FaceRenderer(config)
