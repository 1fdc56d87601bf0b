"""`eva`: one entry point, one module per subcommand (each has add_parser + run)."""
from __future__ import annotations

import argparse
import sys

from eva.cli import babble, bag_export, bench, calibrate, demo, landmarks, launch, mimic_eval, servo_check, sim, train
from eva.cli import eval as eval_cmd

SUBCOMMANDS = {
    "demo": demo,
    "babble": babble,
    "sim": sim,
    "landmarks": landmarks,
    "bag-export": bag_export,
    "launch": launch,
    "train": train,
    "eval": eval_cmd,
    "calibrate": calibrate,
    "bench": bench,
    "mimic-eval": mimic_eval,
    "servo-check": servo_check,
}


def build_parser() -> argparse.ArgumentParser:
    """The `eva` parser with every subcommand."""
    parser = argparse.ArgumentParser(prog="eva", description=__doc__.splitlines()[0].strip("`: "))
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module in SUBCOMMANDS.items():
        p = sub.add_parser(name, help=module.__doc__.splitlines()[0], description=module.__doc__)
        module.add_arguments(p)
        p.set_defaults(run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Runs one subcommand; returns its exit status (errors print one clear line)."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except KeyboardInterrupt:
        return 130
    except (FileNotFoundError, FileExistsError, ValueError, OSError, RuntimeError) as err:
        print(f"eva {args.command}: error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
