"""The chat as a person uses it: the real app in a real headless Chromium."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from qa import answer

playwright_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed (make test installs it)")

HOSTILE = """---
title: Council minutes <script>alert('title')</script>
date: 2025-04-01
url: javascript:alert('url')
---
The harbour council approved the lighthouse budget of 40,000 euros on Tuesday <img src=x onerror=alert(1)> after a long debate.
Members pasted <script>alert(2)</script> and [a link](http://evil.example) and ![img](http://evil.example/x.png) into the record.
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    work = tmp_path_factory.mktemp("chat")
    source, index = work / "articles", work / "index"
    shutil.copytree(ROOT / "seeds", source)
    port = free_port()
    env = {**os.environ, "QA_INDEX": str(index), "QA_SOURCE": str(source)}
    log = open(work / "server.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "qa", "chat", "--port", str(port)], stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 240
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            break
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError((work / "server.log").read_text())
            time.sleep(0.5)
    else:
        proc.kill()
        raise RuntimeError("chat did not start: " + (work / "server.log").read_text())
    yield {"url": url, "index": index, "work": work}
    proc.terminate()
    proc.wait(timeout=20)


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run"],
        )
        yield b
        b.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    pg.dialogs = []
    pg.on("dialog", lambda d: (pg.dialogs.append(d.message), d.dismiss()))
    pg.goto(server["url"])
    yield pg
    context.close()


def ask(pg, question: str) -> None:
    before = pg.locator("#chat .message").count()
    pg.locator("#question textarea").fill(question)
    pg.locator("#ask").click()
    pg.wait_for_function(f"document.querySelectorAll('#chat .message').length >= {before + 2}", timeout=60_000)
    pg.wait_for_timeout(300)


def last_reply(pg) -> str:
    return pg.locator("#chat .message").last.inner_text()


def test_putin_answer_opens_its_source_highlighted(page, server):
    expected = answer("What conditions did Putin set?", index=server["index"]).citations
    ask(page, "What conditions did Putin set?")
    reply = last_reply(page)
    assert "If they lay down their arms and surrender" in reply
    for c in expected:
        assert f"[{c.n}]" in reply
    assert "Putin urges Ukrainian troops" in reply  # the sources list
    labels = page.locator("#citations label")
    assert labels.count() == len(expected)
    for c in expected[:2]:
        labels.nth(c.n - 1).click()
        current = page.locator("#source-view mark.current")
        current.wait_for(timeout=10_000)
        page.wait_for_function(f"document.querySelector('#source-view mark.current')?.dataset.n === '{c.n}'")
        assert current.inner_text() == c.quote
        # Every quote of this article is highlighted, the chosen one marked.
        assert page.locator("#source-view mark").count() == sum(x.article_id == c.article_id for x in expected)
        assert current.is_visible()
    assert "2025-03-14" in page.locator("#source-view").inner_text()


def test_unrelated_question_says_not_found(page):
    ask(page, "Who won the 2022 World Cup?")
    reply = last_reply(page)
    assert "do not answer" in reply
    assert "not an answer" in reply  # the closest passages are labelled as such


def test_follow_up_uses_the_previous_question(page):
    ask(page, "What conditions did Putin set?")
    ask(page, "and what did Zelensky say?")
    assert "Zelenskyy" in last_reply(page)


def test_uploaded_hostile_article_is_shown_as_text(page, server):
    path = server["work"] / "council-minutes.md"
    path.write_text(HOSTILE)
    page.locator("#index-panel").click()
    page.locator("#upload input[type=file]").set_input_files(str(path))
    page.wait_for_function("document.querySelector('#upload-status')?.innerText.includes('Indexed')", timeout=120_000)
    assert "2 articles" in page.locator("#index-info").inner_text().replace("*", "")
    ask(page, "What lighthouse budget did the harbour council approve?")
    reply = last_reply(page)
    assert "<img src=x onerror=alert(1)>" in reply
    page.locator("#citations label").first.click()
    page.locator("#source-view mark.current").wait_for(timeout=10_000)
    source = page.locator("#source-view").inner_text()
    assert "<script>alert(2)</script>" in source and "[a link](http://evil.example)" in source
    assert "<script>alert('title')</script>" in source
    page.wait_for_timeout(500)
    assert page.dialogs == []
    assert page.locator("#chat img, #source-view img, #source-view script, #chat script").count() == 0
    assert page.locator("#source-view a[href^='javascript']").count() == 0


def test_two_people_at_once_get_their_own_answers(browser, server):
    pages = []
    for _ in range(2):
        context = browser.new_context()
        pg = context.new_page()
        pg.goto(server["url"])
        pages.append(pg)
    questions = ["What conditions did Putin set?", "What did Peskov say about the ceasefire proposal?"]
    for pg, q in zip(pages, questions):
        pg.locator("#question textarea").fill(q)
    for pg in pages:
        pg.locator("#ask").click()
    for pg in pages:
        pg.wait_for_function("document.querySelectorAll('#chat .message').length >= 2", timeout=60_000)
    assert "lay down their arms" in last_reply(pages[0])
    assert "Peskov" in last_reply(pages[1]) and "lay down their arms" not in last_reply(pages[1])
    for pg in pages:
        pg.context.close()


def test_chat_answers_while_uploaded_articles_are_indexed(page, server):
    feed = server["work"] / "big-feed.jsonl"
    import json

    feed.write_text("\n".join(
        json.dumps({"id": f"feed-{i}", "title": f"Market note {i}",
                    "text": f"Market note {i}. " + " ".join(f"Shares of company {i}-{j} moved {j} percent on day {i}." for j in range(25))})
        for i in range(400)
    ))
    page.locator("#index-panel").click()
    page.locator("#upload input[type=file]").set_input_files(str(feed))
    page.wait_for_timeout(1500)  # the rebuild is under way
    ask(page, "What did Zelenskyy accuse Putin of?")
    assert "sabotag" in last_reply(page)
    assert "Indexed" not in page.locator("#upload-status").inner_text()  # answered before indexing ended
    page.wait_for_function("document.querySelector('#upload-status')?.innerText.includes('Indexed')", timeout=300_000)


def test_fact_reported_by_two_outlets_shows_both_sources_one_click_away(page, server):
    import json

    from test_answer import BRIDGE_STORIES

    feed = server["work"] / "bridge.jsonl"
    feed.write_text("\n".join(
        json.dumps({"id": name, "title": text.split("title: ")[1].split("\n")[0], "text": text.split("---\n")[2]})
        for name, text in BRIDGE_STORIES.items()
    ))
    page.locator("#index-panel").click()
    page.locator("#upload input[type=file]").set_input_files(str(feed))
    page.wait_for_function("document.querySelector('#upload-status')?.innerText.includes('Indexed')", timeout=300_000)
    ask(page, "When did the Elm Street bridge reopen?")
    reply = last_reply(page)
    assert "also reported by" in reply
    assert "Old bridge back in service" in reply and "Elm Street bridge reopens" in reply  # both in the sources list
    # either outlet may be the main quote; the other is listed as "[1] also" and opens its own article
    sentence_of = {"Old bridge back in service": "The Elm Street bridge over the Avon reopened",
                   "Elm Street bridge reopens": "Drivers can use the Elm Street bridge"}
    other = page.locator("#citations label", has_text="[1] also")
    assert other.count() == 1
    other_title = next(t for t in sentence_of if other.inner_text().strip().endswith(t))
    assert sentence_of[other_title] in other.inner_text()
    other.click()
    current = page.locator("#source-view mark.current")
    current.wait_for(timeout=10_000)
    assert current.inner_text().startswith(sentence_of[other_title])
    assert other_title in page.locator("#source-view .source-title").inner_text()
