"""Tables I-III rows that need no landmark detection (the device has no MediaPipe)."""
import json, sys
import numpy as np
import eva.learning.evaluate as E

class NoDetector:  # every detection "finds no face": rows built on detections are dropped below
    calls = 0
    def __init__(self, progress=True): pass
    def on_model_images(self, crop, images, desc): return np.full((len(images), 53, 2), np.nan)
    def on_camera_images(self, images, desc): return np.full((len(list(images)), 53, 2), np.nan)
    def close(self): pass

E.LandmarkDetector = NoDetector
res = E.evaluate(E.EvalConfig(data=sys.argv[1], checkpoints=sys.argv[2], seeds=1, execution=False,
                              device=sys.argv[3] if len(sys.argv) > 3 else "cuda", progress=False))
for row in res["table1"].values():
    for k in ("landmark_distance_px", "face_found_pct"):
        row.pop(k, None)
res["table3"].pop("GM NN", None)
res["meta"].pop("per_seed", None)
print(E.format_tables(res))
json.dump(res, open(sys.argv[4] if len(sys.argv) > 4 else "score.json", "w"), indent=2, default=str)
