"""The simulated Eva face: a real face photo warped by 10 motor-driven muscles, and its virtual camera."""
from eva.sim.config import SimFaceConfig, load_sim_config

__all__ = ["SimFace", "SimFaceConfig", "load_sim_config", "render_face"]


def __getattr__(name):  # lazy, so `python -m eva.sim.face` does not import itself twice
    if name in ("SimFace", "render_face"):
        from eva.sim import face
        return getattr(face, name)
    raise AttributeError(f"module 'eva.sim' has no attribute {name!r}")
