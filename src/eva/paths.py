"""Where eva's data files (config/*.yaml, shipped checkpoints) are: source checkout, pip or colcon install."""
from __future__ import annotations

import os
import sys
from pathlib import Path

PACKAGE = "eva"


def data_candidates(relpath: str) -> list[Path]:
    """Places the data file or folder ``relpath`` (e.g. ``config/x.yaml``) may be, most specific first.

    The source tree (``pip install -e .``), then ``share/eva/<relpath>`` of every
    install prefix: those on ``AMENT_PREFIX_PATH`` (colcon/ROS), the one this
    package is installed under (``<prefix>/lib/pythonX/site-packages/eva``), and
    ``sys.prefix`` (pip ``data_files``).
    """
    here = Path(__file__).resolve().parent
    found = [here.parents[1] / relpath]  # src/eva -> repo root
    prefixes = [Path(p) for p in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep) if p]
    prefixes += list(here.parents)[3:5] + [Path(sys.prefix)]  # <prefix>/lib[/pythonX]/site-packages/eva
    found += [p / "share" / PACKAGE / relpath for p in prefixes]
    return list(dict.fromkeys(found))


def config_candidates(name: str) -> list[Path]:
    """Places ``config/<name>`` may be, most specific first (see :func:`data_candidates`)."""
    return data_candidates(f"config/{name}")


def shipped_checkpoints() -> Path:
    """The folder of the checkpoints trained for the simulated Eva (``checkpoints/sim``).

    The first existing candidate, else the source-tree path (whose absence a
    loader then names).
    """
    candidates = data_candidates("checkpoints/sim")
    return next((p for p in candidates if p.is_dir()), candidates[0])


def find_config(name: str) -> Path:
    """The first existing ``config/<name>``; FileNotFoundError lists where it looked."""
    for path in config_candidates(name):
        if path.is_file():
            return path
    raise FileNotFoundError(f"{name} not found in any of {[str(p) for p in config_candidates(name)]}")
