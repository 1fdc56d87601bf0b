"""Rebuilds the babbling export at the bag's native 480x320 on the device, bit-exact.

Images: the sim_face node's on_command capture replayed (SimFace seed 0: send, settle,
render with camera noise), rendered in parallel with the recorded noise draws.
Landmarks: the paper's 53 exact (x2 from the 240x160 export); the other 425 carry
each frame's bounding-box corners, so the face crop (box of all 478) is unchanged.
"""
import json, os, sys
import multiprocessing as mp
import numpy as np

from eva.core.landmarks import PAPER53_MEDIAPIPE
from eva.sim.face import SimFace
from eva.sim.camera import CameraNoise


class Replay:  # stands in for the camera's generator: returns the draws recorded in order
    def __init__(self, normals, ints):
        self.n, self.i = iter(normals), iter(ints)
    def standard_normal(self):
        return next(self.n)
    def integers(self, lo, hi, size):
        return next(self.i)


def plan(cmds):
    face = SimFace(seed=0, noise=True); face.connect()
    rng, acts, normals, ints = face._rng, [], [], []
    for c in cmds:
        face.send_action(c); face.settle()
        acts.append(face.activations())
        normals.append((float(rng.standard_normal()), float(rng.standard_normal())))
        ints.append(rng.integers(0, CameraNoise.PAD, size=2))
    return np.array(acts), np.array(normals), np.array(ints), face._camera.bank


def work(args):
    lo, hi, path = args
    face = SimFace(seed=0, noise=False)
    cam = CameraNoise.__new__(CameraNoise)
    cam.config, cam.size, cam.bank = face.config.camera, face.image_size, BANK
    cam.rng = Replay([x for p in NORMALS[lo:hi] for x in p], list(INTS[lo:hi]))
    out = np.load(path, mmap_mode="r+")
    for i in range(lo, hi):
        out[i] = cam.apply(face._renderer.render(ACTS[i]))
    out.flush()


if __name__ == "__main__":
    pack, out = sys.argv[1], sys.argv[2]
    z = np.load(pack)
    meta = json.loads(str(z["meta"]))
    cmds = z["commands"]
    ACTS, NORMALS, INTS, BANK = plan(cmds)
    n = len(cmds); w, h = 480, 320
    os.makedirs(out, exist_ok=True)
    img = np.lib.format.open_memmap(f"{out}/images.npy", "w+", np.uint8, (n, h, w, 3)); del img
    chunks = [(s, min(s + 500, n), f"{out}/images.npy") for s in range(0, n, 500)]
    with mp.get_context("fork").Pool(os.cpu_count()) as pool:
        pool.map(work, chunks)
    lm = np.zeros((n, 478, 3), np.float32)
    lm[:, :, :2] = 2 * z["lo"][:, None, :]
    lm[:, 10, :2] = 2 * z["hi"]  # index 10 (forehead) is not among the 53
    assert 10 not in PAPER53_MEDIAPIPE
    lm[:, list(PAPER53_MEDIAPIPE)] = 2 * z["l53"]
    np.save(f"{out}/landmarks.npy", lm)
    conf = np.ones((n, 478), np.float32); conf[:, list(PAPER53_MEDIAPIPE)] = z["conf53"]
    np.save(f"{out}/landmark_confidence.npy", conf)
    for k in ("commands", "face_found", "stamps_ns", "command_stamps_ns", "split_train", "split_val", "split_test"):
        np.save(f"{out}/{k}.npy", z[k])
    meta["image_size"] = [w, h]
    meta["note"] = "rebuilt at 480x320 by .gpu/regen.py from the 240x160 export"
    json.dump(meta, open(f"{out}/meta.json", "w"), indent=2)
    print("rebuilt", out, n)
