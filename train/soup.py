"""Weight-space ensembling of the news-tuned reranker with the public stage it started from (WiSE-FT,
Wortsman et al. 2022): theta = (1 - alpha) * public + alpha * news. Both share one initialisation, so
their average is a model of its own, as fast as either; it keeps more of what the public stage knew.

    .venv/bin/python train/soup.py FINETUNED OUT [--base train/checkpoints/reranker-public] [--alpha 0.5]
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file, save_file

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_BASE = ROOT / "train" / "checkpoints" / "reranker-public"
ALPHA = 0.5


def soup(base: Path, tuned: Path, out: Path, alpha: float = ALPHA) -> None:
    a, b = load_file(str(base / "model.safetensors")), load_file(str(tuned / "model.safetensors"))
    assert a.keys() == b.keys(), "the two models must share one architecture"
    mixed = {k: ((1 - alpha) * a[k].astype(np.float32) + alpha * b[k].astype(np.float32)).astype(b[k].dtype)
             if np.issubdtype(b[k].dtype, np.floating) else b[k] for k in b}
    out.mkdir(parents=True, exist_ok=True)
    for name in ("config.json", "tokenizer.json", "tokenizer_config.json"):
        shutil.copy(tuned / name, out / name)
    save_file(mixed, str(out / "model.safetensors"), metadata={"format": "pt"})


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("tuned", type=Path)
    p.add_argument("out", type=Path)
    p.add_argument("--base", type=Path, default=DEFAULT_BASE)
    p.add_argument("--alpha", type=float, default=ALPHA)
    args = p.parse_args()
    soup(args.base, args.tuned, args.out, args.alpha)
    print(f"wrote {args.out}")
