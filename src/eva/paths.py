"""Where eva's data files (config/*.yaml) are, in a source checkout, a pip install or a colcon install."""
from __future__ import annotations

import os
import sys
from pathlib import Path

PACKAGE = "eva"


def config_candidates(name: str) -> list[Path]:
    """Places ``config/<name>`` may be, most specific first.

    The source tree (``pip install -e .``), then every ``share/eva/config`` of an
    install prefix: those on ``AMENT_PREFIX_PATH`` (colcon/ROS), the one this
    package is installed under (``<prefix>/lib/pythonX/site-packages/eva``), and
    ``sys.prefix`` (pip ``data_files``).
    """
    here = Path(__file__).resolve().parent
    found = [here.parents[1] / "config" / name]  # src/eva -> repo root
    prefixes = [Path(p) for p in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep) if p]
    prefixes += list(here.parents)[3:5] + [Path(sys.prefix)]  # <prefix>/lib[/pythonX]/site-packages/eva
    found += [p / "share" / PACKAGE / "config" / name for p in prefixes]
    return list(dict.fromkeys(found))


def find_config(name: str) -> Path:
    """The first existing ``config/<name>``; FileNotFoundError lists where it looked."""
    for path in config_candidates(name):
        if path.is_file():
            return path
    raise FileNotFoundError(f"{name} not found in any of {[str(p) for p in config_candidates(name)]}")
