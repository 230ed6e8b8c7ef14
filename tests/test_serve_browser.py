"""Serve, in a real browser: Debian's chromium driven by Playwright against a live uvicorn on 127.0.0.1.

The archive holds LibriVox sonnet readings with their real audio (a 53 s clip) and
human-aligned line times, so seeking and following are checked against real
playback. Nothing leaves 127.0.0.1: any other request fails the test. Screenshots
go to ``test-artifacts/``.
"""

from __future__ import annotations

import importlib.util
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
if importlib.util.find_spec("playwright") is None:
    pytest.skip("Playwright's Python package is not installed (pip install playwright)", allow_module_level=True)
if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)", allow_module_level=True)
pytest.importorskip("uvicorn", reason="the web extra (uvicorn) is not installed")

import uvicorn
from playwright.sync_api import Browser, Page, sync_playwright
from test_serve import HOSTILE_ID, SONNETS, build, sonnet_lines

from talkdown.serve import LOOPBACK_HOSTS, bind, create_app, pages

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run",
    # Play without a sound card and without waiting for a gesture (the ?t= test cues, then plays).
    "--autoplay-policy=no-user-gesture-required", "--mute-audio",
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("served") / "archive"
    build(root, SONNETS / "p001.mp3")
    sock = bind("127.0.0.1", 0)
    app = create_app(root, list(LOOPBACK_HOSTS))
    config = uvicorn.Config(app, log_level="warning", lifespan="off", ws="none", server_header=False)
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not uv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert uv.started, "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        uv.should_exit = True
        thread.join(10)
        sock.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser: Browser, server: str) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 820}, base_url=server)
    outside: list[str] = []

    def only_local(route: Any) -> None:
        if route.request.url.startswith(server):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", only_local)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    yield page
    context.close()
    assert not outside, f"the page asked for resources outside 127.0.0.1: {outside}"
    assert not errors, f"JavaScript errors: {errors}"


def current(page: Page) -> dict[str, Any] | None:
    return page.evaluate(
        "() => { const el = document.querySelector('.line.current');"
        " return el && {id: el.id, start: parseFloat(el.dataset.start), text: el.innerText}; }"
    )


def audio_time(page: Page) -> float:
    return float(page.evaluate("() => document.getElementById('player').currentTime"))


def test_click_a_line_seeks_plays_and_follows(page: Page) -> None:
    lines = sonnet_lines()
    page.goto("/")
    page.get_by_role("link", name="Poetry Hour").click()
    page.wait_for_url("**/channel/Poetry%20Hour")
    page.get_by_role("link", name="Sonnet 1", exact=True).click()
    page.wait_for_url("**/v/file:sonnet1new")
    page.wait_for_function("() => document.getElementById('player').readyState >= 1")

    third = page.locator(".line[data-start]").nth(2)
    assert lines[2][2] in third.inner_text()
    third.locator(".text").click()
    page.wait_for_function("() => !document.getElementById('player').paused")
    assert abs(audio_time(page) - lines[2][0]) < 1.0
    assert "current" in (third.get_attribute("class") or "")

    # Play on: the highlight moves to the line being said and stays on it.
    page.wait_for_function(f"() => document.getElementById('player').currentTime > {lines[3][0] + 0.3}", timeout=10_000)
    now = current(page)
    assert now is not None and now["start"] >= lines[3][0]
    assert now["start"] <= audio_time(page) + 0.1
    assert "t=5" in page.url  # the address now cites the clicked line

    ARTIFACTS.mkdir(exist_ok=True)
    page.evaluate("() => document.getElementById('player').pause()")
    page.screenshot(path=str(ARTIFACTS / "serve-transcript.png"))


def test_search_result_opens_the_transcript_at_the_line(page: Page) -> None:
    start, _, text = sonnet_lines()[3]  # "But as the riper should by time decease,"
    page.goto("/")
    page.fill("header input[name=q]", '"riper should by time decease"')
    page.press("header input[name=q]", "Enter")
    page.wait_for_url("**/search?q=*")
    snippet = page.locator(".results a.snippet").first
    assert "riper" in snippet.inner_text()
    assert page.locator(".results mark").count() >= 1
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "serve-search.png"))

    snippet.click()
    second = int(start)
    page.wait_for_url(lambda url: url.endswith(f"&t={second}#t-{second}") and "/v/" in url)
    now = current(page)
    assert now is not None and now["id"] == f"t-{second}" and text in now["text"]
    page.wait_for_function(f"() => Math.abs(document.getElementById('player').currentTime - {start}) < 1")
    assert page.evaluate(f"() => document.getElementById('t-{second}').matches(':target')")


def test_hostile_metadata_runs_nothing_and_shows_literally(page: Page) -> None:
    page.goto(f"/v/{pages.path_quote(HOSTILE_ID)}")
    page.locator("details.description summary").click()
    page.wait_for_timeout(300)  # give any injected handler (img onerror, svg onload) its chance
    assert page.evaluate("() => typeof window.__xss") == "undefined"
    assert "<script>window.__xss=1</script>" in page.locator("h1").inner_text()
    description = page.locator("details.description .pre").inner_text()
    assert '"><img src=x onerror="window.__xss=1">' in description
    assert "[free money](javascript:window.__xss=1)" in description
    assert page.locator("img, svg, iframe, .transcript a:not(.time)").count() == 0
    page.locator(".line[data-start]").nth(2).click()  # no player here: a click must not throw
    page.goto("/search?q=image")
    assert page.evaluate("() => typeof window.__xss") == "undefined"
    assert "onerror" in page.locator(".results").inner_text()


def test_reading_and_citing_work_without_javascript(browser: Browser, server: str) -> None:
    context = browser.new_context(java_script_enabled=False, base_url=server)
    try:
        page = context.new_page()
        page.goto("/v/file:sonnet1old")
        page.locator(".line[data-start]").nth(4).locator("a.time").click()
        page.wait_for_url("**?t=11#t-11")
        now = page.evaluate("() => document.querySelector('.line.current').id")
        assert now == "t-11"
        page.goto("/search?q=glutton")
        assert page.locator(".results a[href*='#t-43']").count() >= 1
    finally:
        context.close()


def test_youtube_items_ask_only_youtube_for_the_player(browser: Browser, server: str) -> None:
    context = browser.new_context(base_url=server)
    outside: list[str] = []

    def block(route: Any) -> None:
        if route.request.url.startswith(server):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()  # no network here; the page must cope

    context.route("**/*", block)
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto("/v/youtube:abc123XYZ_-?t=4")
        page.wait_for_timeout(300)
        assert outside == ["https://www.youtube.com/iframe_api"]
        assert not errors
        assert page.evaluate("() => document.querySelector('.line.current').id") == "t-4"
        assert page.locator("#yt-player a").get_attribute("href") == "https://www.youtube.com/watch?v=abc123XYZ_-"
    finally:
        context.close()
