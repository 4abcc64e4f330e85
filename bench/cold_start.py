"""Cold start and warm answers, before (torch) and after (ONNX Runtime), side by side in one run.

    .venv/bin/python bench/cold_start.py [--runs 3] [--before REV]

`qa ask` from process start to printed answer, `qa chat` from process start to page ready, and
`answer()` warm over news-dev's questions (p50/p95, one process per tree). "Before" is the code at
REV (default: the last commit that answered in torch), run from a temp checkout with the same venv
and the same index; the runs of the two alternate, so a busy machine slows both alike.
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report import BEFORE, env_for, recorded, tree_at  # noqa: E402

from qa import rebuild

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
QUESTION = "What conditions did Putin set?"

# answer() over every question of a set, warmed by one first; prints {"p50", "p95", "first"} as JSON
WARM = """
import json, statistics, sys
from qa import answer
questions = [json.loads(l)["question"] for l in open(sys.argv[2]) if l.strip()]
answer(questions[0], index=sys.argv[1])
ms, first = [], []
for q in questions:
    a = answer(q, index=sys.argv[1])
    ms.append(a.timings_ms["total"])
    c = (a.citations or a.nearest or [None])[0]
    first.append([a.found, c and c.article_id, c and c.start])
ms.sort()
print(json.dumps({"p50": statistics.median(ms), "p95": ms[int(0.95 * (len(ms) - 1))], "first": first}))
"""


def time_ask(tree: Path, index: Path) -> float:
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "qa", "ask", QUESTION, "--index", str(index)], check=True,
                   capture_output=True, env=env_for(tree))
    return time.perf_counter() - t


def time_chat(tree: Path, index: Path, browser) -> float:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t = time.perf_counter()
    server = subprocess.Popen([sys.executable, "-m", "qa", "chat", "--index", str(index), "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env_for(tree))
    try:
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1)
                break
            except OSError:
                if server.poll() is not None:
                    raise SystemExit(f"qa chat from {tree} exited with {server.returncode}")
                time.sleep(0.05)
        page = browser.new_page()
        page.goto(f"http://127.0.0.1:{port}/")
        page.locator("#question textarea").wait_for()
        took = time.perf_counter() - t
        page.close()
        return took
    finally:
        server.terminate()
        server.wait()


def warm(tree: Path, index: Path, questions: Path) -> dict:
    done = subprocess.run([sys.executable, "-c", WARM, str(index), str(questions)], check=True, capture_output=True,
                          text=True, env=env_for(tree))
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--before", default=BEFORE, help="the revision to compare with (default: the last torch one)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp, tree_at(args.before) as before:
        trees = {"before": before, "after": ROOT}
        seeds, news = Path(tmp) / "seeds", Path(tmp) / "news-dev"
        rebuild(ROOT / "seeds", seeds)
        rebuild(DATA / "news-dev" / "corpus.jsonl", news)
        ask = {name: [] for name in trees}
        chat = {name: [] for name in trees}
        for _ in range(args.runs):
            for name, tree in trees.items():
                ask[name].append(time_ask(tree, seeds))
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
            for _ in range(args.runs):
                for name, tree in trees.items():
                    chat[name].append(time_chat(tree, seeds, browser))
            browser.close()
        answers = {name: warm(tree, news, DATA / "news-dev" / "questions.jsonl") for name, tree in trees.items()}
    same = sum(a == b for a, b in zip(answers["before"]["first"], answers["after"]["first"]))
    with recorded("Cold start"):
        runtime = " (torch; reranker in bf16 where the CPU has it)" if args.before == BEFORE else ""
        print(f"before: {args.before}{runtime}, after: working tree (ONNX Runtime, fp32)")
        print(f"{'':<40} {'before':>8} {'after':>8} {'after/before':>13}")

        def row(label: str, b: float, a: float, unit: str) -> None:
            print(f"{label:<40} {b:>7.2f}{unit} {a:>7.2f}{unit} {a / b:>13.2f}")

        for label, runs in (("qa ask, start to answer (median)", ask), ("qa chat, start to page ready (median)", chat)):
            row(f"{label}, n={args.runs}", statistics.median(runs["before"]), statistics.median(runs["after"]), "s")
        for stat in ("p50", "p95"):
            row(f"answer() warm on news-dev, {stat} ms", answers["before"][stat], answers["after"][stat], " ")
        print(f"same first citation (and decision) on {same} of {len(answers['after']['first'])} news-dev questions")


if __name__ == "__main__":
    main()
