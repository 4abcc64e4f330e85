from __future__ import annotations

import numpy as np
import pytest

from qa import ModelError
from qa.embedding import Embedder, load_embedder


def test_questions_embed_as_sentence_transformers_would():
    """Questions skip `import sentence_transformers` (4 s); their vectors must not change."""
    embedder = load_embedder()
    questions = ["What conditions did Putin set?", "who won?", "A much longer question " * 40]
    fast = embedder.encode_queries(questions)
    full = embedder.model.encode(questions, normalize_embeddings=True, convert_to_numpy=True)
    assert fast.shape == (3, 384)
    assert np.min(np.sum(fast * full, axis=1)) > 0.9999


def test_unknown_model_is_a_clear_error(tmp_path):
    with pytest.raises(ModelError, match="cannot load embedding model .*--model"):
        Embedder(str(tmp_path / "no-model-here"))


def test_chunk_and_sentence_vectors_match_sentence_transformers():
    """The build's direct transformer pass gives sentence-transformers' chunk vectors, and each
    sentence's vector is the mean of its own tokens inside the chunk."""
    embedder = load_embedder()
    texts = ["Putin set conditions. Zelensky objected strongly.", "Short one.", "A longer chunk " * 30 + "ends here."]
    spans = [[(0, 22), (23, 49)], [(0, 10)], [(0, len(texts[2]))]]
    out = embedder.encode_chunks(texts, spans, batch_size=2)
    full = embedder.model.encode(texts, normalize_embeddings=True, convert_to_numpy=True)
    assert np.min(np.sum(out.chunks * full, axis=1)) > 0.9999
    assert [len(v) for v in out.sentences] == [2, 1, 1]
    assert np.sum(out.sentences[2][0] * out.chunks[2]) > 0.99  # one sentence spanning the chunk is the chunk
    for v in out.sentences:
        assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
