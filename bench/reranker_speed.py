"""The reranker's speed: torch bf16 (the path before ONNX Runtime) against ONNX Runtime variants,
side by side, in one run, interleaved, on the same pairs.

    .venv/bin/python bench/reranker_speed.py [--questions 20] [--candidates 30] [--rounds 3]

The pairs are what answer() reranks: the first news-dev questions, each with the vector search's best
`--candidates` sentences from an index of news-dev built in a temp dir. Each variant lives in a
process of its own (so one runtime's idle threads do not share a process with another's), and the
coordinator asks them in turn, question by question, the order rotated every question, with a short
pause between calls. On a machine that is busy with other work only the ratios of one such run mean
anything: the milliseconds move with the load, which the table prints beside them.

Variants (each call = one question's `--candidates` pairs through `logits()`, tokenising included):
  torch bf16      qa/reranker.py as of a185c64: transformers in bf16 (AMX), torch's default threads
  torch bf16 1thr the same with torch.set_num_threads(1): what AMX gives without torch's thread barriers
  torch fp32      the same in fp32: the reference every max|dlogit| is taken against (once, untimed)
  ort b471b31     the first ONNX Runtime path: its graph, ORT's default session options
  ort b471b31+opt the same graph, qa/runtime.session_options() (threads = physical cores, no spinning)
  ort now         the working tree's load_reranker(): shipped graph, shipped options
  ort now 1thr    the same with one intra-op thread (QA_THREADS=1)
  ort fused       measurement only: eager-attention export through onnxruntime.transformers'
                  optimize_model (bert, 12 heads, 384: Attention, EmbedLayerNorm, SkipLayerNorm,
                  BiasGelu), weights inside, shipped options
  ort int8        measurement only: that fused graph through quantize_dynamic (per channel, QInt8)
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "news-dev"
BEFORE_TORCH = "a185c64"   # last commit whose reranker ran in torch (bf16 on AMX)
BEFORE_ORT = "b471b31"     # first commit on ONNX Runtime
VARIANTS = ("torch bf16", "torch bf16 1thr", f"ort {BEFORE_ORT}", f"ort {BEFORE_ORT}+opt", "ort now", "ort now 1thr",
            "ort fused", "ort int8")
REFERENCE = "torch fp32"  # asked once per question, untimed


def pairs(n_questions: int, k: int, workdir: Path) -> list[dict]:
    from qa import answering, open_index, rebuild
    from qa.api import check_question
    from qa.embedding import load_embedder

    index = workdir / "index"
    rebuild(source=DATA / "corpus.jsonl", index=index)
    idx = open_index(index)
    lines = [line for line in (DATA / "questions.jsonl").read_text().splitlines() if line.strip()]
    questions = [check_question(json.loads(line)["question"]) for line in lines][:n_questions]
    out = []
    for q, v in zip(questions, load_embedder().encode_queries(questions)):
        found = answering.search(idx, v, k)
        out.append({"question": q, "sentences": [idx.text(s.article)[s.start:s.end] for s in found]})
    return out


# ---- workers: one variant each, asked over stdin/stdout -------------------------------------------

def _torch_reranker(dtype_name: str):
    """qa/reranker.py exactly as it was at BEFORE_TORCH, imported as a module of the qa package."""
    import torch

    source = subprocess.run(["git", "-C", str(ROOT), "show", f"{BEFORE_TORCH}:qa/reranker.py"],
                            check=True, capture_output=True, text=True).stdout
    path = Path(tempfile.mkdtemp(prefix="reranker-before-")) / "reranker_before.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("qa.reranker_before", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    from qa.reranker import MODEL_DIR

    return module.Reranker(MODEL_DIR, dtype=getattr(torch, dtype_name))


class _OrtAt:
    """The reranker of the working tree, its session swapped for the graph at `rev` (weights fed from
    the safetensors file as qa/runtime.py does), with ORT's default options or the shipped ones."""

    def __init__(self, rev: str, tuned: bool) -> None:
        import onnxruntime as ort
        from safetensors.numpy import load_file

        from qa import runtime
        from qa.reranker import Reranker

        self.reranker = Reranker()
        folder = Path(tempfile.mkdtemp(prefix="graph-before-"))
        for name in ("reranker.onnx", "reranker.weights.json"):
            blob = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:qa/models/onnx/{name}"], check=True, capture_output=True).stdout
            (folder / name).write_bytes(blob)
        weights = load_file(str(runtime.RERANKER_DIR / runtime.WEIGHTS_FILE))
        options = runtime.session_options() if tuned else ort.SessionOptions()
        options.log_severity_level = 3
        self._keep = [np.ascontiguousarray(weights[n].astype(np.float32)) for n in json.loads((folder / "reranker.weights.json").read_text())["weights"]]
        names = json.loads((folder / "reranker.weights.json").read_text())["weights"]
        options.add_external_initializers(names, [ort.OrtValue.ortvalue_from_numpy(a) for a in self._keep])
        session = ort.InferenceSession(str(folder / "reranker.onnx"), options, providers=["CPUExecutionProvider"])
        inputs = [i.name for i in session.get_inputs()]

        class Swapped:
            def run(self, batch):
                return session.run(["logits"], {k: batch.inputs[k] for k in inputs})[0]

        self.reranker.session = Swapped()

    def logits(self, question, sentences):
        return self.reranker.logits(question, sentences)


class _Fused:
    """The reranker of the working tree on a graph exported here with its weights (eager attention,
    which the optimizer's Attention fusion recognises; the SDPA export is not), fused, maybe int8."""

    def __init__(self, int8: bool, ops: list[str] | None = None) -> None:
        import warnings

        import onnxruntime as ort
        import torch
        import transformers
        from onnxruntime.transformers.optimizer import optimize_model

        from qa import runtime
        from qa.reranker import MODEL_DIR, Reranker

        warnings.filterwarnings("ignore")
        folder = Path(tempfile.mkdtemp(prefix="graph-fused-"))
        model = transformers.AutoModelForSequenceClassification.from_pretrained(
            MODEL_DIR, dtype=torch.float32, attn_implementation="eager").eval()

        class Logits(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.model = model

            def forward(self, input_ids, attention_mask, token_type_ids):
                return self.model(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).logits

        names = list(runtime.INPUTS)
        axes = {n: {0: "batch", 1: "tokens"} for n in names} | {"logits": {0: "batch"}}
        with torch.no_grad():
            torch.onnx.export(Logits(), tuple(torch.ones((2, 8), dtype=torch.int64) for _ in names), str(folder / "full.onnx"),
                              input_names=names, output_names=["logits"], dynamic_axes=axes, opset_version=17,
                              do_constant_folding=False, dynamo=False)
        optimize_model(str(folder / "full.onnx"), model_type="bert", num_heads=12, hidden_size=384).save_model_to_file(str(folder / "fused.onnx"))
        path = folder / "fused.onnx"
        if int8:
            from onnxruntime.quantization import QuantType, quantize_dynamic

            quantize_dynamic(str(path), str(folder / "int8.onnx"), per_channel=True, weight_type=QuantType.QInt8,
                             op_types_to_quantize=ops, extra_options={"DefaultTensorType": 1})
            path = folder / "int8.onnx"
        session = ort.InferenceSession(str(path), runtime.session_options(), providers=["CPUExecutionProvider"])
        inputs = [i.name for i in session.get_inputs()]

        class Swapped:
            def run(self, batch):
                return session.run(["logits"], {k: batch.inputs[k] for k in inputs})[0]

        self.reranker = Reranker()
        self.reranker.session = Swapped()

    def logits(self, question, sentences):
        return self.reranker.logits(question, sentences)


def worker(variant: str) -> None:
    if variant == "torch bf16":
        model = _torch_reranker("bfloat16")
    elif variant == "torch bf16 1thr":
        import torch

        torch.set_num_threads(1)
        model = _torch_reranker("bfloat16")
    elif variant == "ort now 1thr":
        os.environ["QA_THREADS"] = "1"
        from qa.reranker import load_reranker

        model = load_reranker()
    elif variant == "ort fused":
        model = _Fused(int8=False)
    elif variant == "ort int8":
        model = _Fused(int8=True)
    elif variant == "torch fp32":
        model = _torch_reranker("float32")
    elif variant == f"ort {BEFORE_ORT}":
        model = _OrtAt(BEFORE_ORT, tuned=False)
    elif variant == f"ort {BEFORE_ORT}+opt":
        model = _OrtAt(BEFORE_ORT, tuned=True)
    elif variant == "ort now":
        from qa.reranker import load_reranker

        model = load_reranker()
    else:
        raise SystemExit(f"unknown variant {variant!r}")
    work = json.loads(sys.stdin.readline())
    model.logits(work[0]["question"], work[0]["sentences"])  # warm
    print("ready", flush=True)
    for line in sys.stdin:
        item = work[int(line)]
        t = time.perf_counter()
        z = model.logits(item["question"], item["sentences"])
        ms = 1000 * (time.perf_counter() - t)
        print(json.dumps({"ms": ms, "logits": [float(x) for x in z]}), flush=True)


# ---- coordinator ----------------------------------------------------------------------------------

def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--questions", type=int, default=20)
    p.add_argument("--candidates", type=int, default=30)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--pause", type=float, default=0.05, help="seconds between two calls")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        worker(args.worker)
        return 0
    with tempfile.TemporaryDirectory(prefix="reranker-speed-") as tmp:
        work = pairs(args.questions, args.candidates, Path(tmp))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TRANSFORMERS_VERBOSITY": "error", "HF_HUB_DISABLE_PROGRESS_BARS": "1"}
    procs = {}
    for v in (REFERENCE, *VARIANTS):
        procs[v] = subprocess.Popen([sys.executable, __file__, "--worker", v], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    stderr=subprocess.DEVNULL, text=True, env=env, cwd=ROOT)
        procs[v].stdin.write(json.dumps(work) + "\n")
        procs[v].stdin.flush()
        if procs[v].stdout.readline().strip() != "ready":
            raise SystemExit(f"worker {v} did not start")
    ms = {v: [] for v in VARIANTS}
    logits = {v: {} for v in (REFERENCE, *VARIANTS)}
    for qi in range(len(work)):
        procs[REFERENCE].stdin.write(f"{qi}\n")
        procs[REFERENCE].stdin.flush()
        logits[REFERENCE][qi] = np.array(json.loads(procs[REFERENCE].stdout.readline())["logits"])
    reference = procs.pop(REFERENCE)
    reference.stdin.close()
    reference.wait()
    load_before = os.getloadavg()[0]
    turn = 0
    for _ in range(args.rounds):
        for qi in range(len(work)):
            order = VARIANTS[turn % len(VARIANTS):] + VARIANTS[:turn % len(VARIANTS)]
            turn += 1
            for v in order:
                time.sleep(args.pause)
                procs[v].stdin.write(f"{qi}\n")
                procs[v].stdin.flush()
                got = json.loads(procs[v].stdout.readline())
                ms[v].append(got["ms"])
                logits[v][qi] = np.array(got["logits"])
    load_after = os.getloadavg()[0]
    for proc in procs.values():
        proc.stdin.close()
        proc.wait()

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from report import recorded

    with recorded("Reranker speed"):
        table(work, args, ms, logits, load_before, load_after)
    return 0


def table(work, args, ms, logits, load_before, load_after) -> None:
    base = statistics.median(ms["torch bf16"])
    first_ort = statistics.median(ms[f"ort {BEFORE_ORT}"])
    ref = logits[REFERENCE]
    print(f"reranker, {len(work)} news-dev questions x {args.candidates} candidates, {args.rounds} rounds, interleaved "
          f"(load average {load_before:.1f} -> {load_after:.1f} on {os.cpu_count()} cores: ratios only)")
    print(f"{'variant':18s} {'p50 ms':>8s} {'p90 ms':>8s} {'/ torch bf16':>13s} {f'/ ort {BEFORE_ORT}':>13s} {'max|dlogit| vs fp32':>20s}")
    for v in VARIANTS:
        xs = sorted(ms[v])
        worst = max(float(np.abs(logits[v][q] - ref[q]).max()) for q in ref)
        p50 = statistics.median(xs)
        print(f"{v:18s} {p50:8.1f} {xs[max(0, -(-9 * len(xs) // 10) - 1)]:8.1f} {p50 / base:13.2f} {p50 / first_ort:13.2f} {worst:20.1e}")


if __name__ == "__main__":
    sys.exit(main())
