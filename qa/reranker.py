"""The answer reranker: a cross-encoder that reads the question and a sentence together and gives
one logit for "this sentence answers the question".

The weights ship in the package (`qa/models/reranker/`, fp16 on disk), trained by
`train/reranker.py` from public data; the model card beside them says on what and how well. Loaded
once per process, beside the embedder. Pairs are scored sorted by length in small batches, so a batch
carries little padding. They run in bf16 where the CPU multiplies bf16 natively (AMX or AVX512-BF16:
2.2x faster than fp32 here, logits correlate 1.000 with fp32's), in fp32 elsewhere.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import ModelError

MODEL_DIR = Path(__file__).resolve().parent / "models" / "reranker"
MAX_TOKENS = 128   # question + sentence in word pieces, as trained
BATCH = 16         # measured: small length-sorted batches beat one padded batch on 2 cores

_lock = threading.Lock()
_loaded: dict[Path, "Reranker"] = {}


@dataclass(frozen=True)
class Calibration:
    """How answering turns logits into decisions; fitted on held-out training data by
    train/fit_answering.py and shipped beside the weights (calibration.json)."""

    fusion_weights: tuple[float, ...]   # P(answers) = sigmoid(w . answering.candidate_features() + fusion_bias)
    fusion_bias: float
    abstain_weights: tuple[float, ...]  # P(unanswerable) over answering.reranked_abstention_features()
    abstain_bias: float
    abstain_at: float        # abstain when P(unanswerable) >= this
    candidates: int          # how many of the vector search's best sentences are reranked
    keep_within: float       # further quotes need at least this share of the best quote's P(answers)

    @classmethod
    def load(cls, path: Path) -> "Calibration":
        raw = json.loads(path.read_text())
        raw["abstain_weights"], raw["fusion_weights"] = tuple(raw["abstain_weights"]), tuple(raw["fusion_weights"])
        return cls(**{k: raw[k] for k in cls.__dataclass_fields__})


def native_dtype():
    """bf16 where the CPU has bf16 matrix instructions, else fp32 (bf16 emulated is slower than fp32)."""
    import torch

    try:
        native = torch.cpu._is_amx_tile_supported() or torch.cpu._is_avx512_bf16_supported()
    except AttributeError:  # a torch without these probes: the safe choice
        native = False
    return torch.bfloat16 if native else torch.float32


def load_reranker(path: Path = MODEL_DIR) -> "Reranker":
    path = Path(path).resolve()
    with _lock:
        if path not in _loaded:
            _loaded[path] = Reranker(path)
        return _loaded[path]


class Reranker:
    def __init__(self, path: Path = MODEL_DIR, calibration: Calibration | None = None, dtype=None) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        self.path = Path(path)
        self._run_lock = threading.Lock()
        try:
            import torch
            import transformers

            transformers.logging.disable_progress_bar()
            self.tokenizer = transformers.AutoTokenizer.from_pretrained(self.path)
            self.dtype = dtype or native_dtype()
            self.model = transformers.AutoModelForSequenceClassification.from_pretrained(
                self.path, dtype=self.dtype  # fp16 on disk; fp16 matmuls are slow on CPUs
            ).eval()
            self.calibration = calibration or Calibration.load(self.path / "calibration.json")
        except Exception as e:  # missing or damaged package data: one clear line
            first = str(e).splitlines()[0] if str(e) else ""
            raise ModelError(
                f"cannot load the answer reranker from {self.path} ({type(e).__name__}: {first}): "
                "reinstall the package (`pip install .`) or retrain it with `python train/reranker.py`"
            ) from None

    def logits(self, question: str, sentences: list[str]) -> np.ndarray:
        """One relevance logit per sentence (higher: more likely to answer the question)."""
        if not sentences:
            return np.zeros(0, np.float32)
        import torch

        encoded = self.tokenizer([question] * len(sentences), sentences, truncation=True, max_length=MAX_TOKENS)
        order = sorted(range(len(sentences)), key=lambda i: len(encoded["input_ids"][i]))
        out = np.zeros(len(sentences), np.float32)
        keys = [k for k in ("input_ids", "attention_mask", "token_type_ids") if k in encoded]
        with self._run_lock, torch.inference_mode():
            for lo in range(0, len(order), BATCH):
                rows = order[lo:lo + BATCH]
                batch = self.tokenizer.pad({k: [encoded[k][i] for i in rows] for k in keys}, return_tensors="pt")
                out[rows] = self.model(**batch).logits[:, 0].float().numpy()
        return out
