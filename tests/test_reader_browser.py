"""The reader people keep open (issue 18), in real Chromium at a phone's and a laptop's size.

Debian's chromium driven by Playwright against a live uvicorn on 127.0.0.1, over an
archive of the LibriVox sonnet reading (real audio, human-aligned line times; each
line's words share its time by length, as a stand-in for the engine's word times):
a local file with speakers and unsure lines, a YouTube item whose audio is in the
archive (YouTube itself cannot be reached here, which is the offline case), and a
YouTube item with chapters. One browser for the module; screenshots go to
``test-artifacts/``.
"""

from __future__ import annotations

import importlib.util
import shutil
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
from factories import transcript
from playwright.sync_api import Browser, Page, sync_playwright
from test_serve import SONNETS, add, sonnet_lines
from test_serve_browser import FLAGS

from talkdown.serve import LOOPBACK_HOSTS, bind, create_app
from talkdown.store import DB_NAME, Catalog
from talkdown.types import Line, Media, Section, Word

if not (SONNETS / "p001.mp3").exists():
    pytest.skip(f"the sonnet clip is missing from {SONNETS}", allow_module_level=True)

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
AXE = Path(__file__).resolve().parent / "axe.min.js"
SIZES = [(390, 844), (1366, 900)]
TITLE = "Sonnet 1, word by word"
UNSURE = (2, 5)  # line numbers the engine was unsure of
CHAPTER_AT = 159.4  # the second chapter's first line (2:39), just after a line at 158.1


def timed(text: str, start: float, end: float, speaker: str | None = None, confidence: float | None = 0.9) -> Line:
    """A line whose words share its time in proportion to their length."""
    tokens = text.split()
    total = sum(len(t) for t in tokens)
    words, at = [], start
    for token in tokens:
        length = (end - start) * len(token) / total
        words.append(Word(round(at, 3), round(at + length, 3), " " + token, 0.9, speaker))
        at += length
    return Line(start, end, text, tuple(words), speaker, confidence)


def reader_lines() -> list[Line]:
    made = []
    for i, (start, end, text) in enumerate(sonnet_lines()):
        speaker = "Reader" if i < 7 else "Guest"
        made.append(timed(text, start, end, speaker, 0.3 if i in UNSURE else 0.9))
    # An afterword past the clip's end, so the page is long enough to scroll away from the line being said.
    made += [timed(f"Afterword line {i}: a note on the rose and the tender churl.", 60.0 + 4 * i, 63.0 + 4 * i,
                   "Guest") for i in range(40)]
    return made


def build_reader(root: Path) -> None:
    (root / "media").mkdir(parents=True)
    shutil.copyfile(SONNETS / "p001.mp3", root / "media" / "p001.mp3")
    said = reader_lines()
    local = Media(id="file:reader", title=TITLE, channel=None, upload_date="2024-06-01", duration=220.0,
                  description="Read for LibriVox.", path="media/p001.mp3")
    offline = Media(id="youtube:offline0001", title="Sonnet 1 on YouTube", url="https://www.youtube.com/watch?v=offline0001",
                    channel="Tube", upload_date="2024-07-01", duration=53.0, path="media/p001.mp3")
    lines = [timed(f"Chaptered line {i} about the rose.", 1.3 * i - (0.3 if i == 122 else 0), 1.3 * i + 1.0)
             for i in range(230)]
    lines.insert(123, timed("The second chapter opens here.", CHAPTER_AT, CHAPTER_AT + 0.8))
    chaptered = Media(id="youtube:chapters001", title="Chapters", url="https://www.youtube.com/watch?v=chapters001",
                      channel="Tube", upload_date="2023-01-01", duration=300.0)
    items = [
        transcript(Section("Opening", 0.0, tuple(said[:7])), Section("The volta", said[7].start or 0, tuple(said[7:])),
                   media=local, speakers=("Reader", "Guest")),
        transcript(*said[:14], media=offline),
        transcript(Section("First half", 0.0, tuple(lines[:123])), Section("Second half", CHAPTER_AT, tuple(lines[123:])),
                   media=chaptered),
    ]
    with Catalog(root / DB_NAME) as catalog:
        for t in items:
            add(root, catalog, t)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("reader") / "archive"
    build_reader(root)
    sock = bind("127.0.0.1", 0)
    config = uvicorn.Config(create_app(root, list(LOOPBACK_HOSTS)), log_level="warning", lifespan="off", ws="none",
                            server_header=False)
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


class Opened:
    """A page in its own context; requests outside 127.0.0.1 are refused and recorded."""

    def __init__(self, browser: Browser, server: str, size: tuple[int, int], youtube: str | None = None,
                 **options: Any) -> None:
        self.youtube = youtube  # a stand-in for YouTube's IFrame API script, if any
        self.context = browser.new_context(viewport={"width": size[0], "height": size[1]}, base_url=server, **options)
        self.outside: list[str] = []
        self.errors: list[str] = []
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.server = server

    def _route(self, route: Any) -> None:
        if route.request.url.startswith(self.server):
            route.continue_()
        elif self.youtube is not None and route.request.url == "https://www.youtube.com/iframe_api":
            self.outside.append(route.request.url)
            route.fulfill(body=self.youtube, content_type="text/javascript")
        else:
            self.outside.append(route.request.url)
            route.abort()

    def close(self) -> None:
        self.context.close()
        assert set(self.outside) <= {"https://www.youtube.com/iframe_api"}, f"asked outside 127.0.0.1: {self.outside}"
        assert not self.errors, f"JavaScript errors: {self.errors}"


@pytest.fixture
def opened(browser: Browser, server: str) -> Iterator[Any]:
    made: list[Opened] = []

    def open_at(size: tuple[int, int] = (1366, 900), **options: Any) -> Page:
        made.append(Opened(browser, server, size, **options))
        return made[-1].page

    yield open_at
    for o in made:
        o.close()


def audio(page: Page, what: str) -> Any:
    return page.evaluate(f"() => document.getElementById('player').{what}")


def playing(page: Page) -> None:
    page.wait_for_function("() => !document.getElementById('player').paused")


def word_box(page: Page, line_id: str, index: int) -> dict[str, float]:
    """Where the index-th word of a line is on screen, and its text."""
    return page.evaluate("""([id, n]) => {
        const node = document.getElementById(id).querySelector('.text').firstChild;
        const spans = [...node.data.matchAll(/\\S+/g)];
        const r = document.createRange();
        r.setStart(node, spans[n].index); r.setEnd(node, spans[n].index + spans[n][0].length);
        const b = r.getBoundingClientRect();
        return {x: b.left + b.width / 2, y: b.top + b.height / 2, text: spans[n][0]};
    }""", [line_id, index])


def highlighted(page: Page, name: str) -> list[str]:
    return page.evaluate(f"() => {{ const h = CSS.highlights.get('{name}'); return h ? [...h].map(r => r.toString()) : []; }}")


PAGES = {
    "index": "/",
    "channel-local": "/channel/Local%20files",
    "channel-tube": "/channel/Tube",
    "video-local": "/v/file:reader",
    "video-offline-youtube": "/v/youtube:offline0001",
    "video-chapters": "/v/youtube:chapters001",
    "search": "/search?q=rose&order=time",
    "error": "/v/nothing-here",
}


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_no_page_overflows_and_every_page_passes_axe(opened: Any, size: tuple[int, int]) -> None:
    page = opened(size, bypass_csp=True)  # only so that the test can inject axe-core; the pages add nothing inline
    ARTIFACTS.mkdir(exist_ok=True)
    problems = []
    for name, path in PAGES.items():
        page.goto(path)
        page.wait_for_load_state("load")
        wide = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
        assert wide[0] <= wide[1], f"{name} at {size}: {wide[0]} px wide on a {wide[1]} px screen"
        button = page.locator("header button, form.search button").first.bounding_box()
        assert button is not None and button["x"] + button["width"] <= size[0], f"{name}: the Search button is clipped"
        page.screenshot(path=str(ARTIFACTS / f"reader-{name}-{size[0]}x{size[1]}.png"), full_page=False)
        if AXE.exists():
            page.add_script_tag(path=str(AXE))
            found = page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
                                  ".filter(v => v.impact === 'serious' || v.impact === 'critical')"
                                  ".map(v => v.id + ': ' + v.nodes.slice(0, 3).map(n => n.target).join(' | '))")
            problems += [f"{name}: {f}" for f in found]
    assert not problems, "axe found serious or critical violations:\n" + "\n".join(problems)


def test_the_player_stays_pinned_on_a_phone_while_following(opened: Any) -> None:
    page = opened((390, 844))
    page.goto("/v/file:reader?t=40")
    page.wait_for_function("() => document.getElementById('player').readyState >= 1")
    assert page.evaluate("() => window.scrollY") > 200  # the page opened at the line, far below the player's home
    page.evaluate("() => document.getElementById('player').play()")
    playing(page)
    page.wait_for_function("() => document.getElementById('player').currentTime > 41")
    box = page.locator(".player").bounding_box()
    assert box is not None and box["y"] >= -1 and box["y"] + box["height"] <= 844
    now = page.locator(".line.current").bounding_box()
    assert now is not None and now["y"] >= box["y"] + box["height"] - 1 and now["y"] + now["height"] <= 844, \
        "the line being said is hidden under the pinned player or off screen"
    page.mouse.wheel(0, 1500)
    page.wait_for_timeout(300)
    box = page.locator(".player").bounding_box()
    assert box is not None and 0 <= box["y"] + box["height"] <= 844, "the player scrolled away"


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_scrolling_away_during_playback_is_kept_until_sync(opened: Any, size: tuple[int, int]) -> None:
    page = opened(size)
    page.goto("/v/file:reader")
    page.wait_for_function("() => document.getElementById('player').readyState >= 1")
    page.locator("#t-0 a.time").click()
    playing(page)
    page.mouse.move(size[0] // 2, size[1] // 2)
    page.mouse.wheel(0, 2500)
    page.wait_for_timeout(400)
    away = page.evaluate("() => window.scrollY")
    assert away > 500
    passed = audio(page, "currentTime")
    page.wait_for_function(f"() => document.getElementById('player').currentTime > {passed + 2.2}")
    assert abs(page.evaluate("() => window.scrollY") - away) < 5, "following pulled the page back"
    sync = page.get_by_role("button", name="Sync to video time")
    assert sync.is_visible()
    sync.click()
    page.wait_for_timeout(900)
    now = page.locator(".line.current").bounding_box()
    assert now is not None and 0 <= now["y"] <= size[1], "Sync did not bring back the line being said"
    assert not sync.is_visible()


def test_double_click_selects_a_word_without_seeking(opened: Any) -> None:
    page = opened()
    page.goto("/v/file:reader")
    page.wait_for_function("() => document.getElementById('player').readyState >= 1")
    word = word_box(page, "t-11", 3)
    page.mouse.dblclick(word["x"], word["y"])
    page.wait_for_timeout(600)
    assert audio(page, "paused") and audio(page, "currentTime") == 0
    assert page.evaluate("() => String(getSelection()).trim()") == word["text"]
    assert page.locator("#t-11 button.quote").is_visible()  # offered where the selection is


def test_copy_quote_puts_the_words_the_title_and_the_public_link(opened: Any, server: str) -> None:
    page = opened(permissions=["clipboard-read", "clipboard-write"])
    page.goto("/v/youtube:offline0001")
    line = sonnet_lines()[5]
    second = int(line[0])
    page.locator(f"#t-{second} a.time").click()
    quote = page.locator(f"#t-{second} button.quote")
    quote.click()
    page.wait_for_function("() => document.querySelector('button.quote').textContent === 'Copied'")
    copied = page.evaluate("() => navigator.clipboard.readText()")
    assert line[2].strip() in copied and "Sonnet 1 on YouTube" in copied
    assert f"https://www.youtube.com/watch?v=offline0001&t={second}s" in copied
    assert server not in copied

    # A selection quotes only the words chosen, linked to the second of the first of them.
    page.goto("/v/file:reader")
    word = word_box(page, "t-11", 2)
    page.mouse.dblclick(word["x"], word["y"])
    page.locator("#t-11 button.quote").click()
    page.wait_for_function("() => document.querySelector('button.quote').textContent === 'Copied'")
    copied = page.evaluate("() => navigator.clipboard.readText()")
    assert copied.startswith(f"\u201c{word['text']}\u201d") and TITLE in copied
    first = next(line for line in reader_lines() if int(line.start or 0) == 11).words[2]
    # A local file has no public page: the local link, to the second of the word chosen.
    assert f"{server}/v/file:reader?t={int(first.start)}#t-11" in copied


def test_click_a_word_seeks_to_it_and_highlights_it(opened: Any) -> None:
    page = opened()
    page.goto("/v/file:reader")
    page.wait_for_function("() => document.getElementById('player').readyState >= 1")
    said = reader_lines()[8]
    target = said.words[4]
    word = word_box(page, f"t-{int(said.start or 0)}", 4)
    assert word["text"] == target.text.strip()
    page.mouse.click(word["x"], word["y"])
    playing(page)
    assert abs(audio(page, "currentTime") - target.start) < 0.3
    page.wait_for_function("() => CSS.highlights.get('word') && CSS.highlights.get('word').size === 1")
    page.wait_for_timeout(400)
    page.evaluate("() => document.getElementById('player').pause()")
    t = audio(page, "currentTime")
    expected = [w.text.strip() for w in said.words if w.start <= t + 0.05][-1]
    assert highlighted(page, "word") == [expected]


def test_find_marks_every_hit_and_arriving_from_search_marks_the_words(opened: Any) -> None:
    page = opened((390, 844))
    page.goto("/v/file:reader")
    field = page.locator("#find")
    field.fill("rose")
    expected = sum(line.text.lower().count("rose") for line in reader_lines())
    page.wait_for_function(f"() => CSS.highlights.get('find') && CSS.highlights.get('find').size === {expected}")
    assert set(highlighted(page, "find")) == {"rose"}
    field.press("Enter")
    assert page.locator(".find-count").inner_text() == f"2 of {expected}"
    field.press("Enter")
    assert page.locator(".find-count").inner_text() == f"3 of {expected}"

    page.goto("/search?q=tender+churl")
    page.locator(".results a.snippet").first.click()
    page.wait_for_url("**/v/**")
    page.wait_for_function("() => CSS.highlights.get('find-now')")
    found = highlighted(page, "find")
    assert {"tender", "churl"} <= {f.lower() for f in found}
    assert page.evaluate("() => document.querySelector('.line.current')"
                         ".contains([...CSS.highlights.get('find-now')][0].startContainer)")


def test_search_has_one_box_focused_and_groups_by_item(opened: Any) -> None:
    page = opened((390, 844))
    page.goto("/search?q=churl")
    assert page.locator("input[name=q]").count() == 1
    assert page.evaluate("() => document.activeElement.name") == "q"
    titles = page.locator(".group h2").all_inner_texts()
    assert len(titles) == len(set(titles)) >= 2
    page.select_option("select[name=order]", "time")
    page.locator("form.search button").click()
    page.wait_for_url("**order=time**")
    for group in page.locator(".group").all():
        times = group.locator(".results a.time").all_inner_texts()
        assert times == sorted(times)
    page.goto("/search?q=churl&channel=Local+files")
    assert TITLE in page.locator(".group h2").all_inner_texts()


def test_the_offline_youtube_item_plays_its_archived_audio(opened: Any) -> None:
    page = opened((390, 844))
    page.goto("/v/youtube:offline0001")
    start = sonnet_lines()[3][0]
    page.wait_for_function("() => document.getElementById('player').readyState >= 1")
    page.locator(f"#t-{int(start)} .text").click()
    playing(page)
    assert abs(audio(page, "currentTime") - start) < 1.0
    assert audio(page, "currentSrc").endswith("/media/youtube:offline0001")


def test_a_chapter_click_before_youtube_is_ready_goes_to_its_line(opened: Any) -> None:
    page = opened()
    page.goto("/v/youtube:chapters001")
    page.get_by_role("link", name="Second half").click()
    page.wait_for_url("**?t=159#t-159")
    assert page.evaluate("() => document.querySelector('.line.current').id") == "t-159"
    page.wait_for_timeout(900)
    box = page.locator("#t-159").bounding_box()
    assert box is not None and 0 <= box["y"] <= 900


def test_keyboard_shortcuts_and_the_skip_link(opened: Any) -> None:
    page = opened()
    page.goto("/v/file:reader")
    page.wait_for_function("() => document.getElementById('player').readyState >= 1")
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.textContent") == "Skip to the transcript"
    page.keyboard.press("Enter")
    page.wait_for_url("**#transcript")
    page.keyboard.press("k")
    playing(page)
    page.keyboard.press("k")
    assert audio(page, "paused")
    at = audio(page, "currentTime")
    page.keyboard.press("l")
    assert abs(audio(page, "currentTime") - (at + 10)) < 0.2
    page.keyboard.press("j")
    assert abs(audio(page, "currentTime") - at) < 0.2
    page.keyboard.press(" ")
    playing(page)
    assert "play or pause" in (page.locator("details.keys").text_content() or "")


def test_looks_unsure_lines_speakers_dark_mode_and_print(opened: Any) -> None:
    page = opened(color_scheme="dark")
    page.goto("/v/file:reader")
    unsure = page.locator(".line.unsure")
    assert unsure.count() == len(UNSURE)
    assert "check before quoting" in (unsure.first.get_attribute("title") or "")
    assert unsure.first.locator(".text").evaluate("e => getComputedStyle(e).textDecorationStyle") == "dotted"
    colours = page.locator(".speaker").evaluate_all("els => els.map(e => getComputedStyle(e).color)")
    assert len(colours) == 2 and colours[0] != colours[1]
    assert page.evaluate("() => getComputedStyle(document.getElementById('player')).colorScheme") == "light dark"
    assert page.evaluate("() => getComputedStyle(document.body).backgroundColor") == "rgb(23, 23, 26)"
    for scheme in ("dark", "light"):
        page.emulate_media(color_scheme=scheme)
        ratio = page.evaluate("""() => {
            const lum = c => { const [r, g, b] = c.match(/\\d+/g).slice(0, 3).map(v => { v /= 255;
                return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; }); return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
            const a = lum(getComputedStyle(document.querySelector('#find')).borderTopColor);
            const b = lum(getComputedStyle(document.body).backgroundColor);
            return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
        }""")
        assert ratio >= 3, f"input borders at {ratio:.2f}:1 in {scheme} mode"
    page.emulate_media(media="print", color_scheme="light")
    for hidden in ("header.bar", ".player", "form.find", "details.keys"):
        assert not page.locator(hidden).is_visible(), f"{hidden} would print"
    page.goto("/v/youtube:offline0001")
    assert "Source: https://www.youtube.com/watch?v=offline0001" in page.locator("main").inner_text()
    assert page.locator(".line a.time").first.is_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    page.pdf(path=str(ARTIFACTS / "reader-print.pdf"))


# A stand-in for YouTube's IFrame API (YouTube cannot be reached here): the same calls, recorded,
# and ready only when the test says so.
FAKE_YOUTUBE = """
window.__yt = {calls: [], release: null};
window.YT = {Player: function (el, opts) {
  var self = this, state = -1, time = opts.playerVars.start || 0;
  this.seekTo = function (t) { time = t; __yt.calls.push(["seekTo", t]); };
  this.playVideo = function () { state = 1; __yt.calls.push(["playVideo"]); };
  this.pauseVideo = function () { state = 2; __yt.calls.push(["pauseVideo"]); };
  this.getPlayerState = function () { return state; };
  this.getCurrentTime = function () { return time; };
  var d = document.createElement("div"); d.id = el.id; el.replaceWith(d);
  __yt.release = function () { opts.events.onReady({target: self}); };
}};
setTimeout(function () { window.onYouTubeIframeAPIReady(); }, 0);
"""


def test_fake_youtube_chapter_clicked_before_ready_plays_there_once_ready(opened: Any) -> None:
    page = opened(youtube=FAKE_YOUTUBE)
    page.goto("/v/youtube:chapters001")
    page.wait_for_function("() => window.__yt && window.__yt.release")
    page.get_by_role("link", name="Second half").click()
    page.wait_for_url("**?t=159#t-159")
    assert page.evaluate("() => __yt.calls") == []
    page.evaluate("() => __yt.release()")
    assert page.evaluate("() => __yt.calls") == [["seekTo", CHAPTER_AT], ["playVideo"]]


def test_fake_youtube_takes_over_from_the_archived_audio_when_it_loads(opened: Any) -> None:
    page = opened(youtube=FAKE_YOUTUBE)
    page.goto("/v/youtube:offline0001")
    page.wait_for_function("() => window.__yt && window.__yt.release")
    assert page.locator("audio#player").count() == 1  # the archived audio plays until YouTube answers
    page.evaluate("() => __yt.release()")
    assert page.locator("audio").count() == 0
    start = sonnet_lines()[3][0]
    page.locator(f"#t-{int(start)} a.time").click()
    calls = page.evaluate("() => __yt.calls")
    assert ["seekTo", start] in calls and calls[-1] == ["playVideo"]
