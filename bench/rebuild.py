"""Incremental rebuild cost against a full build, side by side in one run.

    .venv/bin/python bench/rebuild.py [-n 2000] [--edit 10]

Writes n articles (sentences drawn from the dev corpora in ../shared/data, so real news
and encyclopedia prose), builds them in full, then times a rebuild with no change and one
after editing `--edit` articles, and prints the ratios.

Then, as a user runs it, in fresh `qa rebuild` processes on `--fresh-n` articles: a full build and
a rebuild after `--edit` edits, before (REV, default the last commit that embedded in torch, run
from a temp checkout) and after (the working tree), alternating, side by side.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import sys

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report import BEFORE, env_for, recorded, tree_at  # noqa: E402

from qa import rebuild
from qa.chunking import sentence_spans

ROOT = Path(__file__).resolve().parent.parent


def sentences_from(data: Path) -> list[str]:
    out = []
    for corpus in sorted(data.glob("*/corpus.jsonl")):
        for line in corpus.read_text().splitlines():
            text = json.loads(line)["text"]
            out += [text[a:b] for a, b in sentence_spans(text) if len(text[a:b]) > 30]
    return out


def write_corpus(folder: Path, n: int, pool: list[str], rng: random.Random) -> None:
    for i in range(n):
        body = " ".join(rng.sample(pool, 12))
        (folder / f"a{i:05d}.md").write_text(f"---\ntitle: Article {i}\ndate: 2025-01-01\n---\n{body}\n")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=2000)
    ap.add_argument("--edit", type=int, default=10)
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--fresh-n", type=int, default=300)
    ap.add_argument("--before", default=BEFORE)
    args = ap.parse_args()
    rng = random.Random(0)
    pool = sentences_from(Path(args.data))
    with tempfile.TemporaryDirectory() as tmp:
        source, index = Path(tmp) / "articles", Path(tmp) / "index"
        source.mkdir()
        write_corpus(source, args.n, pool, rng)
        t = time.perf_counter()
        full = rebuild(source, index, progress=True)
        full_s = time.perf_counter() - t
        t = time.perf_counter()
        same = rebuild(source, index)
        same_s = time.perf_counter() - t
        for path in rng.sample(sorted(source.iterdir()), args.edit):
            path.write_text(path.read_text() + f"\nCorrection: {rng.choice(pool)}\n")
        t = time.perf_counter()
        edited = rebuild(source, index)
        edit_s = time.perf_counter() - t
        # As a user runs it: a fresh `qa rebuild` process, model loading included when there is work.
        cli = [sys.executable, "-m", "qa", "rebuild", "--source", str(source), "--index", str(index)]
        t = time.perf_counter()
        subprocess.run(cli, check=True, capture_output=True)
        cli_same_s = time.perf_counter() - t
        for path in rng.sample(sorted(source.iterdir()), args.edit):
            path.write_text(path.read_text() + f"\nUpdate: {rng.choice(pool)}\n")
        t = time.perf_counter()
        subprocess.run(cli, check=True, capture_output=True)
        cli_edit_s = time.perf_counter() - t
    fresh = fresh_processes(args, pool, rng)
    with recorded("Incremental rebuilds"):
        print(f"\n{args.n} articles, {full.chunks} chunks, {full.sentences} sentences")
        print(f"{'rebuild':<28} {'seconds':>8} {'share of full':>14}")
        print(f"{'full build':<28} {full_s:>8.2f} {'100.0%':>14}")
        print(f"{'no change':<28} {same_s:>8.2f} {same_s / full_s:>13.1%}  (unchanged {same.unchanged})")
        print(f"{f'{args.edit} articles edited':<28} {edit_s:>8.2f} {edit_s / full_s:>13.1%}  (updated {len(edited.updated)})")
        print(f"{'no change, qa rebuild':<28} {cli_same_s:>8.2f} {cli_same_s / full_s:>13.1%}  (new process)")
        print(f"{f'{args.edit} edited, qa rebuild':<28} {cli_edit_s:>8.2f} {cli_edit_s / full_s:>13.1%}  (new process, loads the model)")
        print(f"\nfresh qa rebuild processes, {args.fresh_n} articles: before {args.before} (torch), after (working tree)")
        print(f"{'':<28} {'before s':>9} {'after s':>9} {'after/before':>13}")
        for label in ("full build", f"{args.edit} articles edited"):
            b, a = fresh["before"][label], fresh["after"][label]
            print(f"{label:<28} {b:>9.2f} {a:>9.2f} {a / b:>13.2f}")
        for name in ("before", "after"):
            share = fresh[name][f"{args.edit} articles edited"] / fresh[name]["full build"]
            print(f"{args.edit} edited / full build, {name}: {share:.1%}")


def fresh_processes(args, pool: list[str], rng: random.Random) -> dict[str, dict[str, float]]:
    """Full build and an edit of `args.edit` articles, each a new `qa rebuild` process, per tree."""
    out: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp, tree_at(args.before) as before:
        source = Path(tmp) / "articles"
        source.mkdir()
        write_corpus(source, args.fresh_n, pool, rng)
        edits = rng.sample(sorted(source.iterdir()), args.edit)
        for name, tree in (("before", before), ("after", ROOT)):
            index = Path(tmp) / f"index-{name}"
            cli = [sys.executable, "-m", "qa", "rebuild", "--source", str(source), "--index", str(index)]
            t = time.perf_counter()
            subprocess.run(cli + ["--full"], check=True, capture_output=True, env=env_for(tree))
            full_s = time.perf_counter() - t
            originals = {p: p.read_text() for p in edits}
            for path in edits:
                path.write_text(originals[path] + f"\nCorrection: {rng.choice(pool)}\n")
            t = time.perf_counter()
            subprocess.run(cli, check=True, capture_output=True, env=env_for(tree))
            out[name] = {"full build": full_s, f"{args.edit} articles edited": time.perf_counter() - t}
            for path, text in originals.items():  # the other tree edits the same articles
                path.write_text(text)
    return out


if __name__ == "__main__":
    main()
