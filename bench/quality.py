"""Answer quality on every dev set in ../shared/data and on news-train held out by story, one table.

    .venv/bin/python bench/quality.py [--data ../shared/data] [--no-news-train]

Every row runs `answer()` (through `qa eval`'s evaluate) on a real index built with `rebuild` in a
temp dir, side by side in one run:
- `vector`: without the reranker (`rerank=False`), the method before it,
- `before`: another reranker with its calibration (`--before DIR`; default: the public stage's
  weights with the calibration fitted on Wikipedia, train/.cache/reranker-public, written by
  train/reranker.py),
- `after`: the shipped reranker.
news-train is held out by story: each question is answered by the fold model that never saw its
stories (`--folds DIR`/reranker-foldK, with rules fitted without them by train/fit_answering.py);
`before` by its own fold models where `--before-folds` gives them, else by the `--before` model
(which must then never have seen news). Per story and per kind of answer asked for below the table. With `--fresh`, news-train is
only its parts the shipped model was never trained on (grown after it), answered by the shipped
model itself (and by `--before` where it never saw them either): no fold models needed. With
`--reworded`, news-train is only the questions other readers reworded (train/news-train/reworded.jsonl),
once as asked and once as reworded: how much an answer depends on the question's wording. With
`--headline`, also the questions readers wrote from the headlines alone (train/news-train/headline.jsonl),
and the second and third such sets (headline2.jsonl, headline3.jsonl), each as its own rows. With
`--folders N`, each news-train question is answered from an index of its part and the next N-1 (two
stories a part, ~15 articles), the size of a reader's folder, instead of all of news-train at once.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "train"))
import news  # noqa: E402
from report import recorded  # noqa: E402

from qa import rebuild  # noqa: E402
from qa.evaluation import EvalReport, evaluate  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "train" / ".cache"
BEFORE = CACHE / "reranker-public"
REWORDED = ROOT / "train" / "news-train" / "reworded.jsonl"
HEADER = (f"{'set':<16} {'method':>7} {'q':>5} {'hit@1':>6} {'hit@5':>6} {'MRR':>6} {'abstP':>6} {'abstR':>6} "
          f"{'FA':>6} {'verb':>5} {'p50ms':>6} {'p95ms':>6}")


def row(name: str, method: str, r: EvalReport) -> str:
    return (f"{name:<16} {method:>7} {r.questions:>5} {r.hit_at_1:>6.3f} {r.hit_at_5:>6.3f} {r.mrr:>6.3f} "
            f"{r.abstain_precision:>6.3f} {r.abstain_recall:>6.3f} {r.false_abstain:>6.3f} {r.verbatim:>5.2f} "
            f"{r.latency_p50_ms:>6.1f} {r.latency_p95_ms:>6.1f}")


def methods(after, before: Path = BEFORE) -> dict:
    out = {"vector": False}
    if (before / "calibration.json").exists():
        out["before"] = before
    out["after"] = after
    return out


def merged(reports: list[EvalReport]) -> EvalReport:
    """Reports over disjoint question sets as one (latency percentiles: weighted means of the parts')."""
    ans = sum(r.answerable for r in reports)
    un = sum(r.unanswerable for r in reports)
    n = sum(r.questions for r in reports)

    def avg(field: str, weight: str) -> float:
        total = sum(getattr(r, weight) for r in reports)
        return round(sum(getattr(r, field) * getattr(r, weight) for r in reports) / total, 4) if total else 0.0

    abstained_un = sum(r.abstain_recall * r.unanswerable for r in reports)
    abstained_ans = sum(r.false_abstain * r.answerable for r in reports)
    return EvalReport(
        questions=n, answerable=ans, unanswerable=un,
        hit_at_1=avg("hit_at_1", "answerable"), hit_at_5=avg("hit_at_5", "answerable"), mrr=avg("mrr", "answerable"),
        abstain_precision=round(abstained_un / (abstained_un + abstained_ans), 4) if abstained_un + abstained_ans else 0.0,
        abstain_recall=avg("abstain_recall", "unanswerable"), false_abstain=avg("false_abstain", "answerable"),
        verbatim=min(r.verbatim for r in reports), latency_p50_ms=avg("latency_p50_ms", "questions"),
        latency_p95_ms=avg("latency_p95_ms", "questions"),
    )


def news_train(tmp: Path, folds: Path | None, before: Path, before_folds: Path | None,
               parts: list[str] | None = None, form: str = "", folders: int = 0) -> list[str]:
    """news-train through answer(), each story answered by the fold model that never saw it; with
    `folds` None, only the stories the shipped model never saw, answered by it; `parts`: only these.
    `form` "asked" or "reworded": only the questions train/news-train/reworded.jsonl rewords, as
    asked or as reworded (the same questions as other readers type them); "headline", "headline2" or
    "headline3": the questions readers wrote from the headlines alone (one set of news.HEADLINE_SETS),
    instead of news-train's own. `folders`: each question answered from an index of its own part and
    the next (`folders` parts in all, in order), the size of a reader's folder, instead of all of news-train."""
    from qa.reranker import MODEL_DIR

    articles, questions, stories = news.load()
    if form in news.HEADLINE_SETS:
        questions = news.headline_questions(news.HEADLINE_SETS[form], articles, stories)
    if parts:  # names or ranges, as train/reranker.py --exclude-parts takes them
        chosen = news.parts_range(",".join(parts))
        questions = [q for q in questions if q.part in chosen]
    if form in ("asked", "reworded"):
        words = news.rewordings(REWORDED)
        questions = [replace(q, question=words[q.id]) if form == "reworded" else q for q in questions if q.id in words]
    label = "news-train LSO"
    if folds is None:
        unseen = set(news.unseen_parts(MODEL_DIR, {q.part for q in questions}))
        questions = [q for q in questions if q.part in unseen]
        label = "news-train new"
        if (before / "training.json").exists() and set(news.unseen_parts(before, unseen)) != unseen:
            sys.exit(f"--before {before} was trained on some of the stories the shipped model never saw")
    label += f" {form}" if form else ""
    label += f" /{folders}" if folders else ""
    fold = news.folds(questions)
    index = news.build_index(articles)
    news.mine(questions, index, k=5)  # gives each unanswerable question the story retrieval lands on
    index_of = folder_indexes(tmp, articles, sorted({q.part for q in questions}, key=lambda p: int(p[1:])), folders) \
        if folders else defaultdict(lambda: index)
    by_story: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for q in questions:
        by_story[q.story][kind_of(q)].append(q)
    lines, totals = [], defaultdict(list)
    per_story, per_kind = [], defaultdict(lambda: defaultdict(list))
    for story, kinds in sorted(by_story.items()):
        part = next(iter(kinds.values()))[0].part
        after_model = news.held_out_model(folds, part, fold) if folds else True
        before_model = news.held_out_model(before_folds, part, fold) if before_folds else before
        reports = defaultdict(list)
        for i, (kind, qs) in enumerate(sorted(kinds.items())):  # one file a kind, so each kind has its own report
            path = tmp / f"{story}.{kind}.jsonl"
            path.write_text("".join(json.dumps({
                "id": q.id, "question": q.question, "answerable": q.answerable,
                "evidence": [{"article": a, "quote": t} for a, t in q.evidence]}) + "\n" for q in qs))
            for name, how in methods(after_model, before_model).items():
                report = evaluate(path, index_of[part], rerank=how, warm=i == 0)  # one untimed warm-up a story, as before
                reports[name].append(report)
                per_kind[kind][name].append(report)
        reports = {name: merged(reps) for name, reps in reports.items()}
        for name, report in reports.items():
            totals[name].append(report)
        per_story.append((story, reports))
    for name, reps in totals.items():
        lines.append(row(label, name, merged(reps)))
    lines += ["", "by the kind of answer asked for (news-train's own labels), through answer(): "
              "hit@1 / hit@5 / abstention recall / false-abstain",
              f"{'kind':<48} {'q':>4} " + "  ".join(f"{m:>23}" for m in totals)]
    for kind, reports in sorted(per_kind.items()):
        reports = {name: merged(reps) for name, reps in reports.items()}
        lines.append(f"{kind:<48} {next(iter(reports.values())).questions:>4} {cells(reports)}")
    lines += ["", f"news-train held out by story, through answer(): hit@1 / hit@5 / abstention recall / false-abstain",
              f"{'story':<48} {'q':>4} " + "  ".join(f"{m:>23}" for m in totals)]
    for story, reports in per_story:
        story = story or "(unanswerable; none of its part in the best 5)"
        lines.append(f"{story[:48]:<48} {next(iter(reports.values())).questions:>4} {cells(reports)}")
    return lines


def folder_indexes(tmp: Path, articles: list[dict], parts: list[str], size: int) -> dict[str, Path]:
    """An index of each run of `size` parts (two stories a part), by part: what a reader's folder of a
    few dozen articles holds (news-dev's 37), where all of news-train holds 1,514 articles."""
    out = {}
    for at in range(0, len(parts), size):
        group = parts[at:at + size]
        source = tmp / f"folder-{group[0]}.jsonl"
        source.write_text("".join(json.dumps(a, ensure_ascii=False) + "\n" for a in articles if a["id"].split("-")[0] in group),
                          encoding="utf-8")
        rebuild(source=source, index=tmp / f"folder-{group[0]}")
        out |= dict.fromkeys(group, tmp / f"folder-{group[0]}")
    return out


def kind_of(q: news.NewsQuestion) -> str:
    """The row a question counts in by kind: what its writer said it asks for, or "(left open)"
    (news-train labels an open question "unanswerable"; the headline sets do too)."""
    return (q.kind or "(no kind)") if q.answerable else "(left open)"


def cells(reports: dict[str, EvalReport]) -> str:
    """hit@1 / hit@5 / abstention recall / false-abstain of each method ("-" where nothing counts)."""
    def cell(r: EvalReport) -> str:
        hits = f"{r.hit_at_1:.2f}/{r.hit_at_5:.2f}" if r.answerable else "-/-"
        return f"{hits}/{r.abstain_recall:.2f}/{r.false_abstain:.2f}" if r.unanswerable else f"{hits}/-/{r.false_abstain:.2f}"

    return "  ".join(cell(r).rjust(23) for r in reports.values())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--no-news-train", action="store_true", help="the dev sets only")
    ap.add_argument("--before", type=Path, default=BEFORE, help="the reranker to compare with (a folder with its calibration)")
    ap.add_argument("--before-folds", type=Path, default=None, help="where the `before` reranker's fold models are, if it saw news")
    ap.add_argument("--folds", type=Path, default=CACHE, help="where the shipped reranker's fold models are")
    ap.add_argument("--fresh", action="store_true",
                    help="news-train: only the stories the shipped reranker was never trained on, answered by it")
    ap.add_argument("--parts", nargs="+", default=None, help="news-train: only these parts (e.g. t69 t70, or t69-t84)")
    ap.add_argument("--no-dev-sets", action="store_true", help="news-train only")
    ap.add_argument("--reworded", action="store_true",
                    help="news-train: the questions other readers reworded (train/news-train/reworded.jsonl), as "
                         "asked and as reworded, side by side")
    ap.add_argument("--headline", action="store_true",
                    help="news-train: also the questions readers wrote from the headlines alone (train/news-train/headline.jsonl, "
                         "and headline2.jsonl, headline3.jsonl, each as its own rows)")
    ap.add_argument("--folders", type=int, default=0, metavar="N",
                    help="news-train: each question answered from an index of N parts (~15 N articles), not all 100")
    args = ap.parse_args()
    sets = sorted(p for p in Path(args.data).iterdir() if (p / "questions.jsonl").exists() and (p / "corpus.jsonl").exists())
    # a run over some of the sets goes to its own section of docs/benchmarks.md, not over the full table
    partial = args.no_dev_sets or args.parts or args.reworded or args.headline or args.folders
    with recorded("Answer quality, news-train parts" if partial else "Answer quality"):
        print(HEADER)
        print("-" * len(HEADER))
        with tempfile.TemporaryDirectory() as tmp:
            for data in [] if args.no_dev_sets else sets:
                index = Path(tmp) / data.name
                t0 = time.perf_counter()
                rebuild(source=data / "corpus.jsonl", index=index)
                for name, how in methods(True, args.before).items():
                    print(row(data.name, name, evaluate(data / "questions.jsonl", index, rerank=how)))
                print(f"{'':<16} (index built in {time.perf_counter() - t0:.1f} s)")
            have_folds = all((args.folds / f"reranker-fold{k}" / "calibration.json").exists() for k in (0, 1))
            if not args.no_news_train and (have_folds or args.fresh) and (ROOT / "train" / "news-train" / "questions.jsonl").exists():
                forms = ("asked", "reworded") if args.reworded else ("",)
                for form in forms + (tuple(news.HEADLINE_SETS) if args.headline else ()):
                    for line in news_train(Path(tmp), None if args.fresh else args.folds, args.before, args.before_folds,
                                           args.parts, form, args.folders):
                        print(line)
            elif not args.no_news_train:
                print("news-train: skipped (needs train/news-train built and the fold models of train/reranker.py)")
        print(f"vector: rerank=False; before: {args.before}; after: as shipped")


if __name__ == "__main__":
    main()
