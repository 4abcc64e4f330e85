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
