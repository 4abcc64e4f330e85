"""Cold start: `qa ask` from process start to printed answer, `qa chat` from start to page ready.

    .venv/bin/python bench/cold_start.py [--runs 5]
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

import sys

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report import recorded  # noqa: E402

from qa import rebuild

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        index = Path(tmp) / "index"
        rebuild(ROOT / "seeds", index)
        ask = []
        for _ in range(args.runs):
            t = time.perf_counter()
            subprocess.run([sys.executable, "-m", "qa", "ask", "What conditions did Putin set?", "--index", str(index)],
                           check=True, capture_output=True)
            ask.append(time.perf_counter() - t)
        chat = []
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
            for _ in range(args.runs):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", 0))
                    port = s.getsockname()[1]
                t = time.perf_counter()
                server = subprocess.Popen([sys.executable, "-m", "qa", "chat", "--index", str(index), "--port", str(port)],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=os.environ)
                while True:
                    try:
                        urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1)
                        break
                    except OSError:
                        time.sleep(0.05)
                page = browser.new_page()
                page.goto(f"http://127.0.0.1:{port}/")
                page.locator("#question textarea").wait_for()
                chat.append(time.perf_counter() - t)
                page.close()
                server.terminate()
                server.wait()
            browser.close()
    with recorded("Cold start"):
        print(f"qa ask, process start to printed answer: median {statistics.median(ask):.2f} s (min {min(ask):.2f}, max {max(ask):.2f}), n={len(ask)}")
        print(f"qa chat, process start to page ready:   median {statistics.median(chat):.2f} s (min {min(chat):.2f}, max {max(chat):.2f}), n={len(chat)}")


if __name__ == "__main__":
    main()
