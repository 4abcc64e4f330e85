"""The `qa` command: thin wrappers that parse, call the library, and print."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from . import config
from .errors import QAError
from .types import Citation, Source


class Group(click.Group):
    """Every QAError (and a Ctrl-C) ends as one line on stderr, unless --debug asks for the traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except QAError as e:
            if ctx.meta.get("debug"):
                raise
            click.echo(f"qa: error: {e}", err=True)
            sys.exit(1)
        except KeyboardInterrupt:
            click.echo("qa: interrupted", err=True)
            sys.exit(130)


index_option = click.option("--index", default=None, help=f"Index folder (default: ${config.INDEX_ENV} or ./{config.DEFAULT_INDEX}).")


@click.group(cls=Group)
@click.option("--debug", is_flag=True, help="Show full tracebacks on errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Article QA: answers from news articles, as verbatim quotes with citations."""
    ctx.meta["debug"] = debug


@cli.command()
@click.option("--source", default=None, help=f"Folder or file of articles (default: ${config.SOURCE_ENV} or ./{config.DEFAULT_SOURCE}).")
@index_option
@click.option("--model", default=config.DEFAULT_MODEL, show_default=True, help="Sentence-transformers model name or path.")
@click.option("--full", is_flag=True, help="Re-embed every article, not only new and changed ones.")
@click.option("--index-type", default="auto", show_default=True, type=click.Choice(["auto", "flat", "ivf", "ivfpq", "hnsw"]),
              help="FAISS index type; auto is exact search up to 250,000 vectors, IVF up to 1M, "
                   "IVF-PQ (re-scored from disk) beyond.")
@click.option("--ray", "ray", is_flag=False, flag_value="", default=None, metavar="[ADDRESS]",
              help="Embed on Ray: alone, a local Ray on this machine (or $RAY_ADDRESS); 'auto' or ray://HOST:PORT "
                   "joins that cluster. Needs pip install 'article-qa[ray]'.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def rebuild(source: str | None, index: str | None, model: str, full: bool, index_type: str, ray: str | None,
            as_json: bool) -> None:
    """Build or update the index from a folder of articles."""
    from .build import rebuild as run_rebuild

    stats = run_rebuild(source, index, model=model, full=full, index_type=index_type, progress=not as_json,
                        ray=True if ray == "" else ray)
    click.echo(json.dumps(stats.to_dict(), indent=2) if as_json else stats.summary())


@cli.command()
@click.argument("question")
@index_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("-k", "k", default=config.DEFAULT_TOP_K, show_default=True, type=click.IntRange(1, 20), help="Most quotes to give.")
def ask(question: str, index: str | None, as_json: bool, k: int) -> None:
    """Answer QUESTION with quotes from the indexed articles."""
    from .api import answer

    a = answer(question, index, k=k)
    if as_json:
        data = a.to_dict()
        data.pop("nearest")
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    if not a.found:
        click.echo("The articles do not answer this question.")
        if a.nearest:
            click.echo("\nClosest passages (not an answer):")
            for c in a.nearest:
                click.echo(f"  - {c.quote}  ({c.title})")
        return
    for c in a.citations:
        click.echo(f"[{c.n}] {c.quote}\n")
    click.echo("Sources:")
    for c in a.citations:
        click.echo(f"  [{c.n}] {_source_line(c)}")
        for s in c.also:
            click.echo(f"      also reported by {_source_line(s)}: {s.quote}")


def _source_line(c: Citation | Source) -> str:
    where = ", ".join(x for x in (c.date, c.url) if x)
    return f"{c.title}" + (f" ({where})" if where else "") + f"  [{c.article_id} {c.start}:{c.end}]"


@cli.command(name="eval")
@click.argument("questions", type=click.Path(dir_okay=False))
@index_option
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as JSON.")
@click.option("--failures", is_flag=True, help="List the questions answered wrongly, with what was quoted instead.")
def eval_command(questions: str, index: str | None, as_json: bool, failures: bool) -> None:
    """Measure answer quality on a questions.jsonl file (see DESIGN.md)."""
    from .evaluation import evaluate

    report = evaluate(questions, index)
    if as_json:
        data = report.to_dict()
        if not failures:
            data.pop("failures")
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    click.echo(report.table())
    if failures:
        for f in report.failures:
            click.echo(f"\n[{f.id}] {f.question}  (answerable: {f.answerable}, found: {f.found})")
            for e in f.expected:
                click.echo(f"  expected  {e[:160]}")
            for q in f.quoted[:3]:
                click.echo(f"  quoted    {q[:160]}")


@cli.command()
@index_option
@click.option("--source", default=None, help="Articles to index first when there is no index yet (default: ./seeds).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0 exposes it to the network).")
@click.option("--port", default=7860, show_default=True, type=int)
@click.option("--share", is_flag=True, help="Also open a public Gradio share link (off unless asked).")
def chat(index: str | None, source: str | None, host: str, port: int, share: bool) -> None:
    """Open the chat window in the browser (builds the index from seeds first if there is none)."""
    from ui.app import launch

    launch(index=index, source=source, host=host, port=port, share=share)


def main() -> None:
    cli(prog_name="qa")
