"""Embedding a rebuild's new and changed articles on a Ray cluster (`qa rebuild --ray [ADDRESS]`).

Only the expensive step moves: splitting and embedding, with the same code as the in-process build
(`embed_articles.embed_articles`), in a pool of Ray Data actors that each load the model once. The driver
decides what is new, collects the results and writes the generation exactly as an in-process build
does (atomic swap, same format), so the two give the same index.

Address: none starts a local Ray on this machine's cores (stopped afterwards); `auto` or
`ray://HOST:PORT` joins an existing cluster; `RAY_ADDRESS` is honoured as Ray users expect.
`ray` is an optional extra (`pip install 'article-qa[ray]'`), imported only here.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import sys
from typing import Any

import numpy as np

from .errors import QAError
from .store import ArticleEntry
from .types import Article

ARTICLES_PER_BATCH = 200  # per actor call: enough to sort chunks by length well (less padding), small enough for steady progress
CPUS_PER_WORKER = 2       # torch threads per actor where there is no GPU


class RayBuildError(QAError):
    pass


def embed_on_ray(
    model: str, items: list[tuple[Article, str]], address: str | None, progress: bool
) -> tuple[list[ArticleEntry], dict[str, Any]]:
    """Entries for `items` (article, content hash), in order, and the manifest fields of the model
    that embedded them."""
    try:
        import ray
    except ImportError:
        raise RayBuildError(
            "building on Ray needs the ray extra: pip install 'article-qa[ray]' (or leave out --ray)"
        ) from None
    # Ray prints its cluster's messages ("a worker died...") on stdout; they belong on stderr, so that
    # stdout stays the command's own output (`qa rebuild --json`).
    with contextlib.redirect_stdout(sys.stderr):
        return _on_cluster(ray, model, items, address, progress)


def _on_cluster(ray: Any, model: str, items: list[tuple[Article, str]], address: str | None,
                progress: bool) -> tuple[list[ArticleEntry], dict[str, Any]]:
    address = address or os.environ.get("RAY_ADDRESS") or None
    started_here = not ray.is_initialized()
    if started_here:
        try:
            ray.init(address=address, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
        except Exception as e:  # a bad address or an unreachable cluster: one line
            raise RayBuildError(f"cannot reach a Ray cluster at {address or 'a new local Ray'} ({_first_line(e)})") from None
    try:
        return _run(ray, model, items, progress)
    except RayBuildError:
        raise
    except Exception as e:  # a worker that died for good, or a failing task: the previous index stays
        raise RayBuildError(f"the Ray build failed ({_first_line(e)}); the index was left as it was") from None
    finally:
        if started_here:
            ray.shutdown()


def _run(ray: Any, model: str, items: list[tuple[Article, str]], progress: bool) -> tuple[list[ArticleEntry], dict]:
    from tqdm import tqdm

    import ray.data  # noqa: F401  (configures Ray Data's loggers, which the next line then quiets)

    # The driver's console shows one progress bar and errors, not Ray Data's chatter (in its log files)
    logging.getLogger("ray.data").setLevel(logging.ERROR)
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False  # the driver shows one bar of its own, in articles
    ctx.max_errored_blocks = 0
    resources = ray.cluster_resources()
    gpus = int(resources.get("GPU", 0))
    cpus = int(resources.get("CPU", 1))
    if gpus:
        workers, per_worker = gpus, {"num_gpus": 1, "num_cpus": 1}
    else:
        per_cpu = min(CPUS_PER_WORKER, cpus)
        workers, per_worker = max(1, cpus // per_cpu), {"num_cpus": per_cpu}
    rows = [{"slot": i, "item": pickle.dumps(item)} for i, item in enumerate(items)]
    ds = ray.data.from_items(rows, override_num_blocks=max(1, min(len(rows) // ARTICLES_PER_BATCH, 4 * workers)))
    embedded = ds.map_batches(
        _EmbedWorker,
        fn_constructor_args=(model,),
        batch_size=ARTICLES_PER_BATCH,
        batch_format="numpy",
        # Ray Data restarts a killed actor and runs its batch again (actor task retries)
        compute=ray.data.ActorPoolStrategy(min_size=1, max_size=workers),
        **per_worker,
    )
    entries: list[ArticleEntry | None] = [None] * len(items)
    manifest: dict = {}
    with tqdm(total=len(items), desc="Embedding on Ray", unit="article", file=sys.stderr, disable=not progress,
              dynamic_ncols=True) as bar:
        for batch in embedded.iter_batches(batch_size=None, batch_format="numpy"):
            for slot, entry in zip(batch["slot"], batch["entry"]):
                entries[int(slot)] = pickle.loads(entry)
            manifest = manifest or pickle.loads(batch["manifest"][0])
            bar.update(len(batch["slot"]))
    missing = sum(e is None for e in entries)
    if missing:
        raise RayBuildError(f"the Ray build returned no vectors for {missing} articles; the index was left as it was")
    return entries, manifest


class _EmbedWorker:
    """One Ray actor: the model loaded once, then batches of articles split and embedded."""

    def __init__(self, model: str) -> None:
        from .embedding import load_embedder

        self.embedder = load_embedder(model)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        from .embed_articles import embed_articles, manifest as build_manifest

        items = [pickle.loads(b) for b in batch["item"]]
        entries = embed_articles(self.embedder, items, progress=False)
        manifest = pickle.dumps(build_manifest(self.embedder))
        return {
            "slot": batch["slot"],
            "entry": np.array([pickle.dumps(e) for e in entries], dtype=object),
            "manifest": np.array([manifest] * len(entries), dtype=object),
        }


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[-1][:200]}" if text else type(e).__name__
