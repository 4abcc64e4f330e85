"""The answering path on ONNX Runtime: the shipped graphs, the same numbers and answers as torch,
and no torch imported to answer."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from qa import answering, open_index, rebuild
from qa.api import check_question
from qa.embedding import load_embedder
from qa.reranker import MAX_TOKENS, MODEL_DIR, Calibration, load_reranker, reranker_input, trained_context_words

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
DEV_SETS = [d for d in ("news-dev", "squad2-normans") if (DATA / d / "questions.jsonl").exists()]


class TorchReranker:
    """The reranker as it ran before ONNX Runtime: transformers in torch, fp32, same calibration."""

    def __init__(self) -> None:
        import torch
        import transformers

        self.tokenizer = transformers.AutoTokenizer.from_pretrained(MODEL_DIR)
        self.model = transformers.AutoModelForSequenceClassification.from_pretrained(MODEL_DIR, dtype=torch.float32).eval()
        self.calibration = Calibration.load(MODEL_DIR / "calibration.json")

    def input_text(self, text: str, start: int, end: int) -> str:
        return reranker_input(text, start, end, trained_context_words(MODEL_DIR))

    def logits(self, question: str, sentences: list[str]) -> np.ndarray:
        import torch

        if not sentences:
            return np.zeros(0, np.float32)
        batch = self.tokenizer([question] * len(sentences), sentences, truncation=True, max_length=MAX_TOKENS,
                               padding=True, return_tensors="pt")
        with torch.inference_mode():
            return self.model(**batch).logits[:, 0].float().numpy()


@pytest.fixture(scope="module")
def torch_reranker() -> TorchReranker:
    return TorchReranker()


def test_shipped_graphs_are_what_the_export_script_makes():
    """tools/export_onnx.py --check exports both graphs again (~7 s) and compares them byte for byte."""
    pytest.importorskip("onnx")
    done = subprocess.run([sys.executable, str(ROOT / "tools" / "export_onnx.py"), "--check"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]


def test_graphs_are_small_and_take_every_weight_from_the_safetensors_files():
    from qa import runtime

    for kind in ("embedder", "reranker"):
        assert runtime.graph_path(kind).stat().st_size < 1024 * 1024  # weights are not in the graph
        wanted = json.loads(runtime.listing_path(kind).read_text())["weights"]
        shapes = runtime.weight_shapes(kind)
        assert len(wanted) > 90 and set(wanted) <= set(shapes)


def test_a_reranker_with_fewer_layers_runs_from_its_own_graph(seed_index, tmp_path):
    """A smaller reranker (train/distill.py keeps some of the layers) brings its graph beside its
    weights (tools/export_onnx.py --reranker DIR); answering runs it from there, as torch would."""
    pytest.importorskip("onnx")
    import shutil

    import torch
    import transformers

    from qa.reranker import Reranker

    model = transformers.AutoModelForSequenceClassification.from_pretrained(MODEL_DIR, dtype=torch.float32).eval()
    model.bert.encoder.layer = torch.nn.ModuleList([model.bert.encoder.layer[i] for i in (0, 5)])
    model.config.num_hidden_layers = 2
    small = tmp_path / "small"
    model.save_pretrained(small, safe_serialization=True)
    for name in ("tokenizer.json", "tokenizer_config.json", "calibration.json"):
        shutil.copy(MODEL_DIR / name, small / name)
    done = subprocess.run([sys.executable, str(ROOT / "tools" / "export_onnx.py"), "--reranker", str(small)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (small / "reranker.onnx").stat().st_size < 1024 * 1024

    idx = open_index(seed_index)
    sentences = [idx.text(int(a))[s:e] for a, (s, e) in zip(idx.sentence_article, idx.sentence_spans)][:20]
    question = "what conditions did Putin set?"
    batch = transformers.AutoTokenizer.from_pretrained(small)([question] * len(sentences), sentences, truncation=True,
                                                             max_length=MAX_TOKENS, padding=True, return_tensors="pt")
    with torch.inference_mode():
        theirs = model(**batch).logits[:, 0].numpy()
    ours = Reranker(small).logits(question, sentences)
    assert np.abs(ours - theirs).max() < 1e-3
    assert np.abs(ours - load_reranker().logits(question, sentences)).max() > 0.1  # not the shipped 6 layers


def test_reranker_logits_match_torch(seed_index, torch_reranker):
    idx = open_index(seed_index)
    sentences = [idx.text(int(a))[s:e] for a, (s, e) in zip(idx.sentence_article, idx.sentence_spans)][:40]
    question = "what conditions did Putin set?"
    ours, theirs = load_reranker().logits(question, sentences), torch_reranker.logits(question, sentences)
    assert np.abs(ours - theirs).max() < 1e-3


def test_question_and_chunk_vectors_match_torch():
    embedder = load_embedder()
    texts = ["Putin set conditions. Zelensky objected strongly.", "Short one.", "A longer chunk " * 80 + "ends here."]
    spans = [[(0, 22), (23, 49)], [(0, 10)], [(0, len(texts[2]))]]
    full = embedder.model.encode(texts, normalize_embeddings=True, convert_to_numpy=True)  # sentence-transformers
    ours = embedder.encode_queries(texts)
    assert np.abs(ours - full).max() < 1e-3 and np.min(np.sum(ours * full, axis=1)) >= 0.9999
    on_runtime = embedder.encode_chunks(texts, spans, runtime=True)
    in_torch = embedder.encode_chunks(texts, spans, runtime=False)
    assert np.abs(on_runtime.chunks - in_torch.chunks).max() < 1e-4
    for a, b in zip(on_runtime.sentences, in_torch.sentences):
        assert a.shape == b.shape and np.abs(a - b).max() < 1e-4
    assert embedder.count_tokens(texts) == [len(x) for x in embedder.model.tokenizer(texts)["input_ids"]]


@pytest.mark.parametrize("name", DEV_SETS)
def test_every_dev_question_gets_the_same_first_citation_as_torch(name, tmp_path, torch_reranker):
    """Each dev-set question ranked twice: ONNX Runtime (what answer() does) and torch (question vector
    from sentence-transformers, reranker in fp32). Same decision, same first quote, same logits."""
    index = tmp_path / "index"
    rebuild(source=DATA / name / "corpus.jsonl", index=index)
    idx = open_index(index)
    embedder, reranker = load_embedder(), load_reranker()
    questions = [json.loads(line)["question"] for line in (DATA / name / "questions.jsonl").read_text().splitlines() if line.strip()]
    cleaned = [check_question(q) for q in questions]
    ours_vectors = embedder.encode_queries(cleaned)
    torch_vectors = embedder.model.encode(cleaned, normalize_embeddings=True, convert_to_numpy=True)
    assert np.min(np.sum(ours_vectors * torch_vectors, axis=1)) >= 0.9999
    worst = 0.0
    for q, ours_q, torch_q in zip(cleaned, ours_vectors, torch_vectors):
        ours = answering.score_sentences(idx, ours_q, q, reranker)
        theirs = answering.score_sentences(idx, torch_q, q, torch_reranker)
        assert answering.is_answered(idx, q, ours, reranker) == answering.is_answered(idx, q, theirs, torch_reranker), q
        assert (ours[0].article, ours[0].start, ours[0].end) == (theirs[0].article, theirs[0].start, theirs[0].end), q
        by_row = {s.row: s.logit for s in theirs}
        worst = max(worst, max(abs(s.logit - by_row[s.row]) for s in ours if s.row in by_row))
    assert worst < 1e-3


def test_qa_ask_imports_no_torch(seed_index):
    """`qa ask` from a fresh process loads neither torch nor sentence-transformers nor transformers."""
    env = {**os.environ, "QA_INDEX": str(seed_index)}
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "qa", "ask", "what conditions did Putin set?"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Putin" in done.stdout
    modules = {line.split("|")[-1].strip().split(".")[0] for line in done.stderr.splitlines() if line.startswith("import time:")}
    assert "onnxruntime" in modules
    assert not modules & {"torch", "sentence_transformers", "transformers"}


def test_sessions_use_one_thread_per_core_and_never_spin():
    """bench/reranker_speed.py: spinning worker threads cost the reranker a quarter of its time on
    this busy 2-core machine; the options are what every shipped session is made with."""
    from qa import runtime

    options = runtime.session_options()
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    assert options.get_session_config_entry("session.inter_op.allow_spinning") == "0"
    assert options.intra_op_num_threads == runtime.cores() >= 1
    assert runtime.cores() <= (os.cpu_count() or 1) or "QA_THREADS" in os.environ
