"""How long the chat page takes to answer, measured in a real browser (warm, median of N).

    .venv/bin/python bench/chat_latency.py [--index DIR] [--source DIR] [-n 20] [--screenshot docs/chat.png]

Starts `qa chat` on a free port, asks the same question N + 1 times, and prints the first
answer's time (the server warms its models at start, so it should match the rest) and the
median and p95 of the later ones, from the click on Ask to the reply on screen.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
QUESTION = "What conditions did Putin set?"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--index", default=None)
    ap.add_argument("--source", default=str(ROOT / "seeds"))
    ap.add_argument("-n", type=int, default=20)
    ap.add_argument("--screenshot", default=None)
    args = ap.parse_args()
    index = args.index or str(Path(tempfile.mkdtemp()) / "index")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "QA_INDEX": index, "QA_SOURCE": args.source}
    server = subprocess.Popen([sys.executable, "-m", "qa", "chat", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(480):
            try:
                urllib.request.urlopen(url, timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(url)
            times, first = [], 0.0
            for i in range(args.n + 1):
                before = page.locator("#chat .message").count()
                page.locator("#question textarea").fill(QUESTION)
                t0 = time.perf_counter()
                page.locator("#ask").click()
                page.wait_for_function(f"document.querySelectorAll('#chat .message').length >= {before + 2}")
                if i:
                    times.append((time.perf_counter() - t0) * 1000)
                else:
                    first = (time.perf_counter() - t0) * 1000
                if i == 0 and args.screenshot:
                    page.locator("#citations label").nth(1).click()
                    page.locator("#source-view mark.current").wait_for()
                    page.wait_for_timeout(500)
                    page.screenshot(path=args.screenshot)
            browser.close()
    finally:
        server.terminate()
    times.sort()
    print(f"chat answer in the browser: first {first:.0f} ms; later n={len(times)}: median {statistics.median(times):.0f} ms, "
          f"p95 {times[int(0.95 * (len(times) - 1))]:.0f} ms, min {times[0]:.0f} ms, max {times[-1]:.0f} ms")


if __name__ == "__main__":
    main()
