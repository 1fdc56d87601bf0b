"""Export a babbling bag to training arrays (A_i commands, I_i images, L_R,i landmarks).

Writes .npy files (memory-mappable) plus meta.json and a fixed train/val/test
split in the paper's 14:1:1 proportions (16,000 steps -> 14,000/1,000/1,000).
"""
from __future__ import annotations


def add_arguments(p) -> None:
    p.add_argument("bag", help="babbling bag directory")
    p.add_argument("--out", required=True, help="export directory")
    p.add_argument("--image-size", help="resize images to WxH (e.g. 240x160); default: as recorded")
    p.add_argument("--split-seed", type=int, default=0, help="seed of the fixed split")
    p.add_argument("--overwrite", action="store_true", help="replace an existing export in --out")


def parse_size(text: str | None) -> tuple[int, int] | None:
    """'240x160' -> (240, 160); None stays None; errors name the bad value."""
    if not text:
        return None
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise ValueError(f"--image-size must look like 240x160, got {text!r}") from None
    if w <= 0 or h <= 0:
        raise ValueError(f"--image-size must be positive, got {text!r}")
    return w, h


def run(args) -> int:
    from eva.data import export_babbling

    meta = export_babbling(args.bag, args.out, image_size=parse_size(args.image_size), split_seed=args.split_seed,
                           progress=True, overwrite=args.overwrite)
    c = meta["split"]["counts"]
    w, h = meta["image_size"]
    print(f"exported {meta['num_steps']} steps ({meta['faces_found']} with a face, images {w}x{h}) to {args.out}: "
          f"train/val/test {c['train']}/{c['val']}/{c['test']}")
    return 0
