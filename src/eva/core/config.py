"""Config dataclasses from YAML/JSON mappings, with errors that name the place at fault (NumPy-free)."""
from __future__ import annotations

from dataclasses import MISSING, fields
from typing import Any


def build_dataclass(cls, data: Any, where: str):
    """``cls(**data)`` after checking ``data`` is a mapping with only known and all required keys.

    Lists become tuples (YAML has no tuples). A ValueError from the dataclass's
    own validation is re-raised prefixed with ``where`` (e.g. ``"muscles.jaw: ..."``).

    Raises:
        ValueError: not a mapping, unknown or missing keys, or a value the dataclass refuses.
    """
    if not isinstance(data, dict):
        raise ValueError(f"{where}: expected a mapping, got {type(data).__name__}")
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {unknown}; known: {sorted(known)}")
    required = {f.name for f in fields(cls) if f.default is MISSING and f.default_factory is MISSING}
    if required - set(data):
        raise ValueError(f"{where}: missing key(s) {sorted(required - set(data))}")
    try:
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})
    except ValueError as err:
        if str(err).startswith(where):
            raise
        raise ValueError(f"{where}: {err}") from None
