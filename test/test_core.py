"""Tier 1: pure NumPy logic in eva.core."""
import numpy as np
import pytest

from eva.core.landmarks import PAPER53_GROUPS, PAPER53_MEDIAPIPE, landmark_mask, paper53
from eva.core.pose import matrix_to_quaternion, matrix_to_rpy


def test_paper53_is_openpose70_without_jaw():
    assert len(PAPER53_MEDIAPIPE) == 53 == 70 - 17
    assert sum(g.stop - g.start for g in PAPER53_GROUPS.values()) == 53
    pts = np.arange(478 * 2, dtype=float).reshape(478, 2)
    sub = paper53(pts)
    assert sub.shape == (53, 2)
    assert sub[0, 0] == PAPER53_MEDIAPIPE[0] * 2
    with pytest.raises(ValueError, match="478"):
        paper53(np.zeros((468, 2)))


def test_mask_marks_landmark_pixels_and_confidence():
    pts = np.array([[10.2, 5.7], [0, 0], [31.9, 19.9], [40, 3], [np.nan, 1]])
    m = landmark_mask(pts, (32, 20), confidence=[0.5, 1.0, 0.25, 1.0, 1.0])
    assert m.shape == (2, 20, 32) and m.dtype == np.float32
    assert m[0, 5, 10] == 1 and m[1, 5, 10] == 0.5
    assert m[0, 0, 0] == 1 and m[0, 19, 31] == 1 and m[1, 19, 31] == 0.25
    assert m[0].sum() == 3  # the out-of-image and NaN points are dropped


def test_mask_scales_to_any_size():
    pts = np.array([[479.0, 319.0], [240.0, 160.0]])
    small = landmark_mask(pts, (120, 80), source_size=(480, 320))
    assert small[0, 79, 119] == 1 and small[0, 40, 60] == 1 and small[0].sum() == 2
    thick = landmark_mask(pts, (120, 80), source_size=(480, 320), radius=1)
    assert thick[0].sum() == 9 + 4  # corner square clipped to 2x2


def test_subpixel_mask_keeps_where_inside_a_pixel_each_landmark_is():
    rng = np.random.default_rng(0)
    pts = rng.uniform(2, 18, (40, 2))
    m = landmark_mask(pts, (20, 20), confidence=0.5, subpixel=True)
    ys, xs = np.mgrid[0:20, 0:20] + 0.5  # pixel centres
    for p in pts:  # one point at a time: its weights sum to 1 and their centroid is the point
        one = landmark_mask(p[None], (20, 20), subpixel=True)[0]
        assert one.sum() == pytest.approx(1.0) and np.count_nonzero(one) <= 4
        assert (one * xs).sum() == pytest.approx(p[0], abs=1e-5) and (one * ys).sum() == pytest.approx(p[1], abs=1e-5)
    assert m[0].sum() == pytest.approx(40.0, rel=1e-5) and m[1].sum() == pytest.approx(20.0, rel=1e-5)
    # the paper's mask cannot tell two points in one pixel apart; the sub-pixel one can
    a, b = np.array([[5.1, 5.1]]), np.array([[5.9, 5.9]])
    assert np.array_equal(landmark_mask(a, (10, 10)), landmark_mask(b, (10, 10)))
    assert not np.allclose(landmark_mask(a, (10, 10), subpixel=True), landmark_mask(b, (10, 10), subpixel=True))
    edge = landmark_mask(np.array([[0.2, 0.2], [np.nan, 1.0]]), (10, 10), subpixel=True)
    assert edge[0].sum() == pytest.approx(1.0)  # at the image edge the weights stay on the pixel there
    with pytest.raises(ValueError, match="radius"):
        landmark_mask(a, (10, 10), radius=1, subpixel=True)


def _rot(roll, pitch, yaw):
    cr, sr, cp, sp, cy, sy = np.cos(roll), np.sin(roll), np.cos(pitch), np.sin(pitch), np.cos(yaw), np.sin(yaw)
    rz = np.array([[cr, -sr, 0], [sr, cr, 0], [0, 0, 1]])
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rx = np.array([[1, 0, 0], [0, cp, -sp], [0, sp, cp]])
    return rz @ ry @ rx


@pytest.mark.parametrize("rpy", [(0.1, -0.2, 0.3), (0.0, 0.0, 0.0), (-0.5, 0.4, -0.7)])
def test_rpy_and_quaternion_round_trip(rpy):
    r = _rot(*rpy)
    np.testing.assert_allclose(matrix_to_rpy(r), rpy, atol=1e-9)
    x, y, z, w = matrix_to_quaternion(r)
    # rebuild the matrix from the quaternion
    q = np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                  [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                  [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])
    np.testing.assert_allclose(q, r, atol=1e-9)


def test_latency_stats_percentiles_over_a_window():
    from eva.core.latency import LatencyStats
    stats = LatencyStats(window=100)
    assert np.isnan(stats.percentiles()["p50"])
    for k in range(200):  # the first 100 (large) fall out of the window
        stats.add(0, (1000 if k < 100 else k - 99) * 1_000_000)
    p = stats.percentiles()
    assert stats.count == 200 and p["p50"] == pytest.approx(50.5) and p["p99"] == pytest.approx(99.01)
    assert "200 frames" in stats.summary()


def test_pipeline_latency_from_stage_records():
    from eva.core.latency import pipeline_latency
    ms = 1_000_000
    records = []
    for k in range(40):  # 30 fps; stage b 10 ms after the frame, c 20 ms (every 4th frame dropped at c)
        t = k * 33 * ms
        records += [("a", t, t + 1 * ms), ("b", t, t + 10 * ms)]
        if k % 4:
            records.append(("c", t, t + 20 * ms + (k >= 30) * 5 * ms))  # slower at the end: drift
    records.append(("b", 0, 999 * ms))  # a duplicate arrives later: the first counts
    out = pipeline_latency(records, ["a", "b", "c"], skip_frames=4)
    assert out["frames"] == 36 and out["completed"] == 27 and out["dropped"] == 9
    assert out["stages"]["b"] == {"count": 36, "p50_ms": 10.0, "p99_ms": 10.0}
    assert out["end_to_end"]["p50_ms"] == 20.0 and out["end_to_end"]["last_third_p50_ms"] == 25.0
    assert out["end_to_end"]["first_third_p50_ms"] == 20.0
    assert len(out["end_to_end"]["window_p50_ms"]) == 10  # tenths of the 27 completed frames
    assert out["end_to_end"]["window_p50_ms"][0] == 20.0 and out["end_to_end"]["window_p50_ms"][-1] == 25.0
    assert 21 < out["fps"] < 25  # 3 of 4 frames at 30 fps get through


def test_quaternion_round_trip():
    from eva.core.pose import matrix_to_quaternion, matrix_to_rpy, quaternion_to_matrix
    c, s = np.cos(0.3), np.sin(0.3)
    r = np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]]) @ np.array([[1, 0, 0], [0, np.cos(-0.2), -np.sin(-0.2)],
                                                                 [0, np.sin(-0.2), np.cos(-0.2)]])
    np.testing.assert_allclose(quaternion_to_matrix(matrix_to_quaternion(r)), r, atol=1e-9)
    np.testing.assert_allclose(quaternion_to_matrix(2 * matrix_to_quaternion(r)), r, atol=1e-9)  # not unit
    np.testing.assert_allclose(quaternion_to_matrix([0, 0, 0, 0]), np.eye(3))
    assert np.isfinite(matrix_to_rpy(quaternion_to_matrix([0.1, 0.2, 0.3, 0.9]))).all()
