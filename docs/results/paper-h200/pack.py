"""Packs what the device needs to rebuild the 480x320 babbling export exactly (run here)."""
import json, sys
import numpy as np
from eva.core.landmarks import PAPER53_MEDIAPIPE
src, out = sys.argv[1], sys.argv[2]
lm = np.load(f"{src}/landmarks.npy", mmap_mode="r")
meta = json.load(open(f"{src}/meta.json"))
idx53 = list(PAPER53_MEDIAPIPE)
l53 = np.empty((len(lm), 53, 3), np.float32); lo = np.empty((len(lm), 2), np.float32); hi = np.empty_like(lo)
for s in range(0, len(lm), 1000):
    chunk = np.asarray(lm[s:s + 1000])
    l53[s:s + 1000] = chunk[:, idx53]
    lo[s:s + 1000] = chunk[..., :2].min(1); hi[s:s + 1000] = chunk[..., :2].max(1)
conf = np.load(f"{src}/landmark_confidence.npy", mmap_mode="r")[:, idx53]
arrs = {k: np.load(f"{src}/{k}.npy") for k in ("commands", "face_found", "stamps_ns", "command_stamps_ns",
                                                  "split_train", "split_val", "split_test")}
np.savez_compressed(out, l53=l53, lo=lo, hi=hi, conf53=np.asarray(conf), meta=json.dumps(meta), **arrs)
