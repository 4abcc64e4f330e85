"""The answer reranker: a cross-encoder that reads the question and a sentence together and gives
one logit for "this sentence answers the question".

The weights ship in the package (`qa/models/reranker/`, fp16 on disk), trained by
`train/reranker.py` from public data; the model card beside them says on what and how well. Loaded
once per process, beside the embedder, and run by ONNX Runtime over the shipped graph
(qa/runtime.py; torch is never imported to answer). Pairs are scored sorted by length in small
batches, so a batch carries little padding. The weights are widened to fp32: the logits are the
ones torch gives in fp32 (within 1e-5).
"""

from __future__ import annotations

import json
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
    # and besides them, how many of the sentences sharing most of the question's rare words that
    # the vector search missed (answering.candidates)
    lexical_candidates: int = 0
    # Two passes: rerank the first `first_pass` candidates; the rest only when none of them has
    # P(answers) >= decisive_at (0: one pass over all). Fitted where it loses no held-out answer.
    first_pass: int = 0
    decisive_at: float = 1.0

    @classmethod
    def load(cls, path: Path) -> "Calibration":
        raw = json.loads(path.read_text())
        raw["abstain_weights"], raw["fusion_weights"] = tuple(raw["abstain_weights"]), tuple(raw["fusion_weights"])
        return cls(**{k: raw[k] for k in cls.__dataclass_fields__ if k in raw})  # a missing required field: TypeError


def native_dtype():
    """For training (train/reranker.py): bf16 where the CPU has bf16 matrix instructions, else fp32."""
    import torch

    try:
        native = torch.cpu._is_amx_tile_supported() or torch.cpu._is_avx512_bf16_supported()
    except AttributeError:  # a torch without these probes: the safe choice
        native = False
    return torch.bfloat16 if native else torch.float32


def reranker_input(text: str, start: int, end: int, context_words: int = 0) -> str:
    """What the reranker reads beside the question for the sentence text[start:end] of an article:
    the sentence, then after a [SEP] the last `context_words` words before it. A sentence alone
    cannot say whose words it quotes or what it answers ("The power lines look like spaghetti.");
    the words just before it usually can ("..., Asheville Mayor Esther Manheimer said Monday.").
    The sentence comes first, so truncation cuts the context, never the sentence."""
    sentence = text[start:end]
    before = text[max(0, start - 40 * context_words):start].split()[-context_words:] if context_words > 0 else []
    return f"{sentence} [SEP] {' '.join(before)}" if before else sentence


def trained_context_words(path: Path) -> int:
    """How many words of context the weights in `path` were trained to read (their training.json,
    written by train/reranker.py --context-words; 0 when it says nothing: the sentence alone)."""
    trained = Path(path) / "training.json"
    return int(json.loads(trained.read_text()).get("context_words", 0)) if trained.exists() else 0


def load_reranker(path: Path = MODEL_DIR) -> "Reranker":
    path = Path(path).resolve()
    with _lock:
        if path not in _loaded:
            _loaded[path] = Reranker(path)
        return _loaded[path]


class Reranker:
    """`path`: a folder with the reranker's model.safetensors, tokenizer.json and calibration.json
    (the shipped one, or one that train/reranker.py just wrote)."""

    def __init__(self, path: Path = MODEL_DIR, calibration: Calibration | None = None) -> None:
        from . import runtime

        self.path = Path(path)
        try:
            self.tokenizer = runtime.tokenizer(self.path)
            self.tokenizer.enable_truncation(MAX_TOKENS)  # longest first, as transformers' truncation=True
            self.session = runtime.Session("reranker", self.path)
            self.calibration = calibration or Calibration.load(self.path / "calibration.json")
            self.context_words = trained_context_words(self.path)
        except Exception as e:  # missing or damaged package data: one clear line
            first = str(e).splitlines()[0] if str(e) else ""
            raise ModelError(
                f"cannot load the answer reranker from {self.path} ({type(e).__name__}: {first[:300]}): "
                "reinstall the package (`pip install .`) or retrain it with `python train/reranker.py`"
            ) from None

    def input_text(self, text: str, start: int, end: int) -> str:
        """The sentence text[start:end] as this model reads it (with its context, if trained so)."""
        return reranker_input(text, start, end, self.context_words)

    def logits(self, question: str, sentences: list[str]) -> np.ndarray:
        """One relevance logit per sentence, or per input_text() (higher: more likely to answer)."""
        from .runtime import pad

        if not sentences:
            return np.zeros(0, np.float32)
        encoded = self.tokenizer.encode_batch([(question, s) for s in sentences])
        order = sorted(range(len(sentences)), key=lambda i: len(encoded[i].ids))
        out = np.zeros(len(sentences), np.float32)
        for lo in range(0, len(order), BATCH):
            rows = order[lo:lo + BATCH]
            out[rows] = self.session.run(pad([encoded[i] for i in rows]))[:, 0]
        return out
