"""The Gradio chat: questions in, quoted answers out, and a source view beside them."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import gradio as gr

from qa import Citation, QAError, answer, config, open_index, rebuild
from qa.api import article_text
from qa.ingest import SUPPORTED_SUFFIXES

from .render import chat_markdown, index_markdown, source_choices, source_html

EXAMPLES = [
    "What conditions did Putin set?",
    "What did Trump ask Putin to do?",
    "What did Zelenskyy accuse Putin of?",
]

CSS = """
#source-view .source-text { white-space: pre-wrap; max-height: 60vh; overflow-y: auto; line-height: 1.5; }
#source-view mark.quote { background: #fff3a8; color: inherit; padding: 0 1px; }
#source-view mark.quote.current { background: #ffd43b; outline: 2px solid #f59f00; }
#source-view .source-meta { color: #666; margin-bottom: .5em; }
"""

# Scroll the article's own box (not the page) so the chosen quote sits a third of the way down.
SCROLL_JS = """() => { setTimeout(() => {
  const m = document.querySelector('#source-view mark.current'); if (!m) return;
  const box = m.closest('.source-text');
  box.scrollTop = m.offsetTop - box.offsetTop - box.clientHeight / 3;
}, 50); }"""

_rebuild_lock = threading.Lock()


def ensure_index(index: Path, source: Path) -> None:
    """Build the index from the source if there is none yet."""
    try:
        open_index(index)
    except QAError:
        print(f"Building the index {index} from {source} ...", flush=True)
        print(rebuild(source, index, progress=True).summary(), flush=True)


def warm_up(index: Path) -> None:
    """Load the index, the embedder and the reranker, and answer once: the first question asked in
    the browser is then as fast as the later ones."""
    try:
        answer(EXAMPLES[0], index)
    except QAError:
        pass  # an empty index: the chat says what to do when asked


def build_app(index: str | Path | None = None, source: str | Path | None = None) -> gr.Blocks:
    index_dir = config.resolve_index(index)
    source_dir = config.resolve_source(source)

    def ask(question: str, history: list, state: dict):
        history = list(history or [])
        state = dict(state or {})
        question = (question or "").strip()
        try:
            a = answer(question, index_dir, previous=state.get("previous"))
        except QAError as e:
            history += [{"role": "user", "content": question or "(empty)"}, {"role": "assistant", "content": f"⚠️ {e}"}]
            return history, state, "", gr.update()
        idx = open_index(index_dir)
        choices = source_choices(a.citations)
        outlets = {s.article_id: meta.source for _, s in choices if (meta := idx.find_article(s.article_id))}
        history += [{"role": "user", "content": question}, {"role": "assistant", "content": chat_markdown(a, outlets)}]
        if a.found:
            state["previous"] = question
        state["citations"] = [c.to_dict() for c in a.citations]
        labels = [label for label, _ in choices]
        return history, state, "", gr.update(choices=labels, value=None)

    def show_source(label: str | None, state: dict):
        choices = source_choices([Citation.from_dict(c) for c in (state or {}).get("citations", [])])
        chosen = next((c for lbl, c in choices if lbl == label), None)
        if chosen is None:
            return "<p class='source-empty'>Select a citation to see its article.</p>"
        text = article_text(chosen.article_id, index_dir)
        return source_html(text, chosen, [c for _, c in choices])

    def index_info() -> str:
        try:
            return index_markdown(open_index(index_dir).manifest)
        except QAError as e:
            return f"⚠️ {e}"

    def add_articles(files: list[str] | None):
        if not files:
            return index_info(), "Choose files to add."
        uploads = source_dir / "uploads"
        uploads.mkdir(parents=True, exist_ok=True)
        added = []
        for f in files:
            path = Path(f)
            if path.suffix.lower() not in SUPPORTED_SUFFIXES:
                continue
            shutil.copy(path, uploads / path.name)
            added.append(path.name)
        if not added:
            return index_info(), "No supported files (.txt, .md, .html, .json, .jsonl)."
        with _rebuild_lock:  # the chat keeps answering from the current index meanwhile
            try:
                stats = rebuild(source_dir, index_dir)
            except QAError as e:
                return index_info(), f"⚠️ {e}"
        return index_info(), stats.summary()

    with gr.Blocks(title="Article QA", analytics_enabled=False) as app:  # a local tool: nothing reported to Gradio
        state = gr.State({})
        gr.Markdown("## Article QA\nAnswers are verbatim quotes from the articles, each with its source.")
        with gr.Row():
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(label="Chat", height=520, elem_id="chat", sanitize_html=True, buttons=["copy"],
                                     feedback_options=None)
                with gr.Row():
                    box = gr.Textbox(placeholder="Ask about the articles…", show_label=False, scale=5, elem_id="question",
                                     max_length=config.MAX_QUESTION_CHARS)
                    send = gr.Button("Ask", variant="primary", scale=1, elem_id="ask")
                gr.Examples(EXAMPLES, inputs=box, label="Try")
            with gr.Column(scale=2):
                picker = gr.Radio([], label="Citations: select one to see its source", elem_id="citations")
                view = gr.HTML("<p class='source-empty'>Select a citation to see its article.</p>", elem_id="source-view")
                with gr.Accordion("Index", open=False, elem_id="index-panel"):
                    info = gr.Markdown(index_info, elem_id="index-info")
                    upload = gr.File(label="Add articles", file_count="multiple", file_types=list(SUPPORTED_SUFFIXES),
                                     elem_id="upload")
                    status = gr.Markdown(elem_id="upload-status")
        for trigger in (box.submit, send.click):
            trigger(ask, [box, chatbot, state], [chatbot, state, box, picker], concurrency_limit=8)
        picker.change(show_source, [picker, state], view, concurrency_limit=8).then(None, js=SCROLL_JS)
        upload.upload(add_articles, upload, [info, status], concurrency_limit=1)
    return app


def launch(*, index=None, source=None, host: str = "127.0.0.1", port: int = 7860, share: bool = False) -> None:
    index_dir = config.resolve_index(index)
    source_dir = config.resolve_source(source)
    ensure_index(index_dir, source_dir)
    app = build_app(index_dir, source_dir)
    app.queue(default_concurrency_limit=8)
    # The page is served first and the models load behind it (bench/cold_start.py: page ready sooner
    # by the load's time). A question asked meanwhile waits for the load (the loaders' locks); none is lost.
    app.launch(server_name=host, server_port=port, share=share, css=CSS, footer_links=[], prevent_thread_lock=True)
    warm_up(index_dir)
    app.block_thread()
