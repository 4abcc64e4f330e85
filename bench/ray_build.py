"""A Ray build against the in-process build on the same articles, in one run.

    .venv/bin/python bench/ray_build.py [-n 1200]        # needs pip install '.[ray]'

Both build the same folder of articles (sentences drawn from the dev corpora, as bench/rebuild.py)
into fresh indexes; the Ray build starts its own local Ray (included in its time, as `qa rebuild
--ray` would). Then 10 articles are edited and both indexes rebuilt again. Prints seconds, the
Ray/in-process ratio, the fixed cost of the Ray path (start-up: Ray, the actor, its model) and the
per-article rate of one worker, from which a cluster's time is projected.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rebuild import sentences_from, write_corpus  # noqa: E402
from report import recorded  # noqa: E402

from qa import rebuild  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=1200)
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    args = ap.parse_args()
    rng = random.Random(0)
    pool = sentences_from(Path(args.data))
    with tempfile.TemporaryDirectory() as tmp, recorded("Ray build"):
        source = Path(tmp) / "articles"
        source.mkdir()
        write_corpus(source, args.n, pool, rng)
        # a tiny build first, so neither timed build pays for importing torch or loading the model
        small = Path(tmp) / "small"
        small.mkdir()
        write_corpus(small, 2, pool, rng)
        rebuild(small, Path(tmp) / "warm")

        t = time.perf_counter()
        local = rebuild(source, Path(tmp) / "in-process")
        local_s = time.perf_counter() - t
        t = time.perf_counter()
        on_ray = rebuild(source, Path(tmp) / "ray", ray=True)
        ray_s = time.perf_counter() - t
        t = time.perf_counter()
        rebuild(small, Path(tmp) / "ray-small", ray=True)
        fixed_s = time.perf_counter() - t  # start-up cost of the Ray path: 2 articles

        for path in sorted(source.iterdir())[:10]:
            path.write_text(path.read_text() + "\nAn added closing sentence for the edit.\n")
        t = time.perf_counter()
        rebuild(source, Path(tmp) / "in-process")
        local_edit_s = time.perf_counter() - t
        t = time.perf_counter()
        edited = rebuild(source, Path(tmp) / "ray", ray=True)
        ray_edit_s = time.perf_counter() - t

        per_worker = args.n / max(ray_s - fixed_s, 1e-9)
        print(f"{args.n} articles, {local.sentences:,} sentences (Ray build: {on_ray.sentences:,})")
        print(f"{'build':<28} {'in-process s':>12} {'Ray s':>8} {'Ray / in-process':>17}")
        print(f"{'full':<28} {local_s:>12.1f} {ray_s:>8.1f} {ray_s / local_s:>17.2f}")
        print(f"{'10 edited (' + str(len(edited.updated)) + ' re-embedded)':<28} {local_edit_s:>12.1f} {ray_edit_s:>8.1f} "
              f"{ray_edit_s / local_edit_s:>17.2f}")
        print(f"Ray path fixed cost (local Ray, actor, model): {fixed_s:.1f} s")
        print(f"one worker of this machine (2 cores): {per_worker:.1f} articles/s; "
              f"1M articles on 50 such workers: {1e6 / (50 * per_worker) / 3600:.1f} h")


if __name__ == "__main__":
    main()
