"""Index build speed against the machine's limit and against a naive script, in one run.

    .venv/bin/python bench/build_speed.py [-n 300]

Prints: the measured fp32 matmul rate (2048x2048 torch matmul); the encoder's achieved rate
during `rebuild()` (model FLOPs per token x tokens/s, counted on the real, unpadded tokens);
the share of build time spent outside the encoder; and `rebuild()` against a naive script
that embeds 200-token windows with `model.encode` into a flat FAISS index.
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report import recorded  # noqa: E402
from rebuild import sentences_from, write_corpus  # noqa: E402

from qa import rebuild  # noqa: E402
from qa.chunking import token_encoding  # noqa: E402
from qa.embedding import load_embedder  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def matmul_gflops(size: int = 2048, reps: int = 20) -> float:
    a, b = torch.randn(size, size), torch.randn(size, size)
    for _ in range(3):
        a @ b
    t = time.perf_counter()
    for _ in range(reps):
        a @ b
    return 2 * size**3 * reps / (time.perf_counter() - t) / 1e9


def flops_per_token(config, seq_len: float) -> float:
    d, inner, layers = config.hidden_size, config.intermediate_size, config.num_hidden_layers
    # Q, K, V, output projections and the two feed-forward matrices, plus attention over seq_len.
    return layers * (2 * (4 * d * d + 2 * d * inner) + 4 * seq_len * d)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=300)
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    args = ap.parse_args()
    gflops = matmul_gflops()
    embedder = load_embedder()
    model = embedder.model  # the naive script's encoder
    # The module the build runs its forward passes through: the bare transformer for mean-pooling models.
    encoder = embedder._encoder if embedder._plain else model
    counted = {"seconds": 0.0, "tokens": 0, "padded": 0, "calls": 0, "rows": 0}
    forward = encoder.forward

    def timed_forward(*args, **kw):
        features = kw if "attention_mask" in kw else args[0]
        t = time.perf_counter()
        out = forward(*args, **kw)
        counted["seconds"] += time.perf_counter() - t
        counted["tokens"] += int(features["attention_mask"].sum())
        counted["padded"] += int(features["attention_mask"].numel())
        counted["calls"] += 1
        counted["rows"] += int(features["attention_mask"].shape[0])
        return out

    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "articles"
        source.mkdir()
        write_corpus(source, args.n, sentences_from(Path(args.data)), random.Random(0))
        texts = [p.read_text().split("---\n", 2)[2] for p in sorted(source.iterdir())]
        n_tokens = sum(len(t) for t in token_encoding().encode_ordinary_batch(texts))

        encoder.forward = timed_forward
        t = time.perf_counter()
        stats = rebuild(source, Path(tmp) / "index")
        ours_s = time.perf_counter() - t
        encoder.forward = forward
        ours = dict(counted)

        # The naive script: 200-token windows, model.encode, a flat FAISS index.
        import faiss

        t = time.perf_counter()
        enc = token_encoding()
        windows = []
        for text in texts:
            ids = enc.encode_ordinary(text)
            windows += [enc.decode(ids[i:i + 200]) for i in range(0, len(ids), 200)]
        vectors = model.encode(windows, batch_size=32, normalize_embeddings=True, convert_to_numpy=True)
        flat = faiss.IndexFlatIP(vectors.shape[1])
        flat.add(vectors)
        faiss.write_index(flat, str(Path(tmp) / "naive.faiss"))
        naive_s = time.perf_counter() - t

    seq = ours["tokens"] / max(ours["rows"], 1)
    per_token = flops_per_token(model[0].auto_model.config, ours["padded"] / max(ours["rows"], 1))
    achieved = per_token * ours["tokens"] / ours["seconds"] / 1e9
    achieved_padded = per_token * ours["padded"] / ours["seconds"] / 1e9
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with recorded("Index build"):
        print(f"\ncorpus: {args.n} articles, {n_tokens:,} cl100k tokens; {stats.chunks} chunks, {stats.sentences} sentences")
        print(f"machine: {torch.get_num_threads()} torch threads; fp32 matmul 2048x2048: {gflops:.0f} GFLOP/s")
        print(f"{'':34} {'seconds':>8} {'articles/s':>10} {'tokens/s':>9}")
        print(f"{'qa rebuild (full)':34} {ours_s:>8.1f} {args.n / ours_s:>10.1f} {n_tokens / ours_s:>9.0f}")
        print(f"{'naive 200-token windows':34} {naive_s:>8.1f} {args.n / naive_s:>10.1f} {n_tokens / naive_s:>9.0f}")
        print(f"rebuild / naive time: {ours_s / naive_s:.2f}x")
        print(f"encoder: {ours['seconds']:.1f} s in forward passes, {ours['tokens']:,} word pieces "
              f"({ours['padded']:,} with padding), ~{seq:.0f} per chunk; {per_token / 1e6:.1f} MFLOP per token")
        print(f"encoder rate: {achieved:.0f} GFLOP/s on real tokens ({achieved / gflops:.0%} of matmul), "
              f"{achieved_padded:.0f} GFLOP/s counting padding ({achieved_padded / gflops:.0%})")
        print(f"outside the encoder: {ours_s - ours['seconds']:.1f} s = {(ours_s - ours['seconds']) / ours_s:.0%} of the build")
        print(f"peak memory (process): {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
