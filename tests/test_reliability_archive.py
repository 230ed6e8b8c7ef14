"""Issue 13, part A: one item is one identity, one bad entry spoils nothing.

Each test is a case a user met (the issue's numbers in brackets), run on real parts:
yt-dlp against a server on 127.0.0.1, the bundled tiny.en, real SQLite. What is
asserted is what the user sees: the exit code, the summary, the transcript's words.
"""

from __future__ import annotations

import json
import os
import random
import re
import resource
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import corpus
from localweb import podcast_feed, serve
from talkdown import info
from talkdown.archiving import ArchiveJob, list_items
from talkdown.cli import cli
from talkdown.render import read_json
from talkdown.store import Catalog

JFK = next(corpus.CORPUS.rglob("jfk.flac")).read_bytes()  # "ask not what your country can do for you"
SONNET = next(corpus.CORPUS.rglob("p001.mp3")).read_bytes()  # "from fairest creatures we desire increase"
SEED = corpus.FIXTURES / "bbc-putin-direct-talks.md"


def _run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def _rows(root: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(root / "talkdown.db") as db:
        return list(db.execute("SELECT id, status FROM videos ORDER BY id"))


def _texts(root: Path) -> dict[str, str]:
    """Each archived item's URL and its transcript's text."""
    found = {}
    for path in root.glob("*/.json/*.json"):
        transcript = read_json(path.read_text(encoding="utf-8"))
        found[transcript.media.url or transcript.media.id] = transcript.text.lower()
    return found


@pytest.fixture
def web(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("TALKDOWN_CACHE", str(tmp_path / "cache"))
    files = {"/a/episode.mp3": SONNET, "/b/episode.mp3": JFK}
    with serve(files) as state:
        yield state


# -- identity ------------------------------------------------------------------------


def test_two_files_of_one_name_on_two_paths_are_two_transcripts(web, tmp_path: Path) -> None:
    """[1] The second used to be the first's transcript (one id, one cache file), exit 0."""
    first = _run("transcribe", f"{web.base}/a/episode.mp3", "-o", str(tmp_path / "out"))
    second = _run("transcribe", f"{web.base}/b/episode.mp3", "-o", str(tmp_path / "out"))
    assert first.exit_code == second.exit_code == 0, second.output
    a, b = Path(first.stdout.strip()).read_text(), Path(second.stdout.strip()).read_text()
    assert a != b
    assert "fairest creatures" in a.lower() and "ask not" in b.lower() and "fairest" not in b.lower()
    assert f"{web.base}/b/episode.mp3" in b


def test_a_url_list_is_read_line_by_line_and_a_404_spoils_nothing(web, tmp_path: Path) -> None:
    """[1, 5] Both episodes are archived; the comment is passed over; the 404 is named."""
    urls = tmp_path / "list.txt"
    urls.write_text(f"# my podcast list\n\n{web.base}/a/episode.mp3\n  {web.base}/missing.mp3\n"
                    f"{web.base}/b/episode.mp3\n", encoding="utf-8")
    root = tmp_path / "archive"
    result = _run("archive", str(urls), "-o", str(root))
    assert result.exit_code == 1
    assert "Not archived:" in result.stderr and "missing.mp3 was not found (HTTP 404)" in result.stderr
    assert result.stderr.strip().endswith("2 archived, 0 skipped, 1 failed")
    texts = _texts(root)
    assert "fairest creatures" in texts[f"{web.base}/a/episode.mp3"]
    assert "ask not" in texts[f"{web.base}/b/episode.mp3"]


def test_two_feeds_with_one_guid_are_two_items(web, tmp_path: Path) -> None:
    """[1] ep-1 of one feed used to be 'already archived' because another feed has an ep-1."""
    web.files["/media/sonnet.mp3"], web.files["/media/jfk.flac"] = SONNET, JFK
    web.files["/one.xml"] = podcast_feed(web.base, ["sonnet.mp3"], title="Verse Daily")
    web.files["/two.xml"] = podcast_feed(web.base, ["jfk.flac"], title="Speeches")
    root = tmp_path / "archive"
    result = _run("archive", f"{web.base}/one.xml", f"{web.base}/two.xml", "-o", str(root))
    assert result.exit_code == 0, result.output
    assert result.stderr.strip().endswith("2 archived, 0 skipped, 0 failed")
    texts = _texts(root)
    assert "fairest creatures" in texts[f"{web.base}/media/sonnet.mp3"]
    assert "ask not" in texts[f"{web.base}/media/jfk.flac"]


def _make_legacy(root: Path) -> None:
    """Turns an archive into one an older talkdown made: generic ids without their hash."""
    with sqlite3.connect(root / "talkdown.db") as db:
        for (new,) in db.execute("SELECT id FROM videos").fetchall():
            old = info.legacy_id(new)
            db.execute("UPDATE videos SET id = ? WHERE id = ?", (old, new))
            db.execute("UPDATE lines SET video_id = ? WHERE video_id = ?", (old, new))
    for path in root.glob("*/.json/*.json"):
        data = json.loads(path.read_text(encoding="utf-8"))
        data["media"]["id"] = info.legacy_id(data["media"]["id"])
        path.write_text(json.dumps(data), encoding="utf-8")


def test_an_archive_with_old_ids_is_neither_redone_nor_mixed_up(web, tmp_path: Path) -> None:
    """The migration: what an old archive holds is found under its old id when it is the
    same thing (same URL, same feed), and a different thing of the same name is new."""
    web.files["/media/sonnet.mp3"], web.files["/media/jfk.flac"] = SONNET, JFK
    web.files["/one.xml"] = podcast_feed(web.base, ["sonnet.mp3"], title="Verse Daily")
    web.files["/two.xml"] = podcast_feed(web.base, ["jfk.flac"], title="Speeches")
    root = tmp_path / "archive"
    assert _run("archive", f"{web.base}/one.xml", f"{web.base}/a/episode.mp3", "-o", str(root)).exit_code == 0
    _make_legacy(root)
    assert sorted(i for i, _ in _rows(root)) == ["generic:ep-1", "generic:episode"]

    again = _run("archive", f"{web.base}/one.xml", f"{web.base}/a/episode.mp3", "-o", str(root))
    assert again.exit_code == 0
    assert "0 to transcribe, 2 already archived" in again.stderr

    others = _run("archive", f"{web.base}/two.xml", f"{web.base}/b/episode.mp3", "-o", str(root))
    assert others.exit_code == 0 and "2 to transcribe, 0 already archived" in others.stderr
    texts = _texts(root)
    assert "ask not" in texts[f"{web.base}/b/episode.mp3"] and "ask not" in texts[f"{web.base}/media/jfk.flac"]
    assert "fairest creatures" in texts[f"{web.base}/a/episode.mp3"]
    assert len(_rows(root)) == 4


def test_a_download_that_is_not_audio_is_not_kept(web, tmp_path: Path) -> None:
    """[3] An error page served as fixme.mp3 used to stay in the cache for good."""
    web.files["/fixme.mp3"] = b"<html><body>502 Bad Gateway</body></html>"
    url, out = f"{web.base}/fixme.mp3", str(tmp_path / "out")
    bad = _run("transcribe", url, "-o", out)
    assert bad.exit_code == 1
    assert f"What {url} serves is not audio or video talkdown can read" in bad.stderr
    assert not list((tmp_path / "cache").rglob("*fixme*"))
    web.files["/fixme.mp3"] = JFK
    good = _run("transcribe", url, "-o", out)
    assert good.exit_code == 0, good.output
    assert "ask not" in Path(good.stdout.strip()).read_text().lower()


def test_a_failed_item_is_not_called_archived(web, tmp_path: Path) -> None:
    """[3] A plain rerun inside the back-off used to say 'already archived', exit 0."""
    web.files["/fixme.mp3"] = b"not audio"
    root = tmp_path / "archive"
    assert _run("archive", f"{web.base}/fixme.mp3", "-o", str(root)).exit_code == 1
    rerun = _run("archive", f"{web.base}/fixme.mp3", "-o", str(root))
    assert rerun.exit_code == 1
    assert "0 to transcribe, 0 already archived, 1 failed before and wait for their retry" in rerun.stderr
    assert "1 waiting to be retried" in rerun.stderr
    web.files["/fixme.mp3"] = JFK
    retried = _run("archive", f"{web.base}/fixme.mp3", "-o", str(root), "--retry-failed")
    assert retried.exit_code == 0, retried.output
    assert _rows(root) == [(_rows(root)[0][0], "done")]


# -- isolation -----------------------------------------------------------------------


def test_a_bad_file_in_a_folder_spoils_nothing(tmp_path: Path) -> None:
    """[4] a.flac, an empty b.mp3, c.wav, e.wav: only a used to be archived, c and e never named."""
    folder = tmp_path / "in"
    folder.mkdir()
    sounds = corpus.CORPUS / "debian-alsa-utils-sounds"
    (folder / "a.flac").write_bytes(JFK)
    (folder / "b.mp3").write_bytes(b"")
    shutil.copy(sounds / "Front_Left.wav", folder / "c.wav")
    shutil.copy(sounds / "Front_Right.wav", folder / "e.wav")
    root = tmp_path / "archive"
    result = _run("archive", str(folder), "-o", str(root))
    assert result.exit_code == 1
    assert result.stderr.strip().endswith("3 archived, 0 skipped, 1 failed")
    assert f"Not archived:\n  {folder / 'b.mp3'}: " in result.stderr and "empty" in result.stderr
    assert sorted(p.stem.split(" [")[0][11:] for p in (root / "Local files").glob("*.md")) == ["a", "c", "e"]


def test_limit_is_the_newest_of_what_since_leaves(web, tmp_path: Path) -> None:
    """[7] --limit took the first N in feed order (the oldest, here), before --since."""
    names = [f"clip{i}.mp3" for i in range(1, 13)]  # Episode i is dated 10 + i Jan 2023: oldest first
    web.files["/feed.xml"] = podcast_feed(web.base, names)
    feed = f"{web.base}/feed.xml"
    with Catalog(tmp_path / "talkdown.db") as catalog:
        def titles(**job) -> list[str]:
            return [m.title.split(":")[0] for m in list_items([feed], catalog, ArchiveJob(tmp_path, **job)).todo]

        assert titles(limit=3) == ["Episode 12", "Episode 11", "Episode 10"]
        assert titles(limit=3, since="2023-01-21") == ["Episode 12", "Episode 11"]
        assert titles(limit=2, since="2023-01-15") == ["Episode 12", "Episode 11"]
        assert len(titles(since="2023-01-15")) == 8


# -- import --------------------------------------------------------------------------


def _archived_seed_item(tmp_path: Path) -> Path:
    """An archive holding our own transcript (with word timings) of the seed's video id."""
    clip = tmp_path / "clip" / "talk.flac"
    clip.parent.mkdir()
    clip.write_bytes(JFK)
    clip.with_suffix(".info.json").write_text(json.dumps({
        "id": "MGgDHevAc8A", "extractor_key": "Youtube", "title": "Direct talks",
        "webpage_url": "https://www.youtube.com/watch?v=MGgDHevAc8A", "channel": "BBC News"}))
    root = tmp_path / "archive"
    assert _run("archive", str(clip), "-o", str(root)).exit_code == 0
    return root


def test_import_never_replaces_a_richer_transcript(tmp_path: Path) -> None:
    """[2] The seed's Markdown used to overwrite our JSON: word timings 22 → 0, exit 0."""
    root = _archived_seed_item(tmp_path)
    json_path = next(root.glob("*/.json/*.json"))
    before = read_json(json_path.read_text())
    assert any(True for _ in before.words())
    old = tmp_path / "old"
    old.mkdir()
    shutil.copy(SEED, old)
    result = _run("import", str(old), "-o", str(root))
    assert result.exit_code == 0
    assert "the archive's transcript of youtube:MGgDHevAc8A has word timings, this file has not" in result.stderr
    assert result.stderr.strip().endswith("0 imported, 1 kept as archived (richer than the file), 0 failed")
    assert read_json(json_path.read_text()) == before

    # The other way round: the richer one replaces the poorer.
    seeded = tmp_path / "seeded"
    assert _run("import", str(old), "-o", str(seeded)).exit_code == 0
    ours = tmp_path / "ours"
    ours.mkdir()
    shutil.copy(json_path, ours / "talk.json")
    assert _run("import", str(ours), "-o", str(seeded)).stderr.strip().endswith("1 imported, 0 failed")
    assert len(list(seeded.glob("*/*.md"))) == len(list(seeded.glob("*/.json/*.json"))) == 1  # no stale copy
    held = read_json(next(seeded.glob("*/.json/*.json")).read_text())
    assert held.text == before.text


def test_import_goes_on_past_bad_files_and_passes_over_other_json(tmp_path: Path) -> None:
    """[6, 14] A bad Upload Date stopped the import with a ValueError; an .info.json was a failure."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "1-bad-date.md").write_text(
        "---\nUpload Date: 2025-13-45\nLength: 10s\n---\n\n# Bad date\n"
        "*  Hello there. [[00:00:00](https://www.youtube.com/watch?v=aaaaaaaaaaa&t=0.0s)]\n", encoding="utf-8")
    (src / "2-broken.json").write_text('{"media": {"id": ', encoding="utf-8")
    (src / "3-clip.info.json").write_text(json.dumps({"id": "x", "extractor_key": "Generic"}), encoding="utf-8")
    (src / "4-settings.json").write_text('{"theme": "dark"}', encoding="utf-8")
    shutil.copy(SEED, src / "5-seed.md")
    root = tmp_path / "archive"
    result = _run("import", str(src), "-o", str(root))
    assert result.exit_code == 1
    assert "2-broken.json: This is not valid JSON" in result.stderr
    assert result.stderr.strip().endswith("2 imported, 2 passed over (JSON that is not a transcript), 1 failed")
    assert [i for i, _ in _rows(root)] == ["youtube:MGgDHevAc8A", "youtube:aaaaaaaaaaa"]


# -- the disk, the database, the folder -------------------------------------------------

TALKDOWN = Path(sys.executable).with_name("talkdown")


def _talkdown(*args: str, env: dict[str, str], fsize: int | None = None):
    """talkdown in its own process: a file size limit (RLIMIT_FSIZE) stands for a full disk."""
    def limit() -> None:
        if fsize is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
    return subprocess.run([str(TALKDOWN), *args], capture_output=True, text=True, env=env, timeout=300,
                          preexec_fn=limit)


def _consistent(root: Path) -> None:
    """Every item once: one done row per Markdown file, each row's files there."""
    with sqlite3.connect(root / "talkdown.db") as db:
        rows = db.execute("SELECT md_path, json_path FROM videos WHERE status = 'done'").fetchall()
    assert len(rows) == len(list(root.glob("*/*.md"))) == 1
    assert all((root / md).is_file() and (root / js).is_file() for md, js in rows)


@pytest.mark.parametrize("fsize, existing", [(0, False), (100, False), (32_768, False), (12_000, True), (40_000, True)])
def test_a_full_disk_at_any_write_is_one_sentence_and_the_next_run_mends_it(
        tmp_path: Path, fsize: int, existing: bool) -> None:
    """[12] The limits stop the lock file, the catalogue's creation, its first commit, and
    (in an archive that exists) the run's row or the transcript's: each one sentence."""
    env = {**os.environ, "TALKDOWN_CACHE": str(tmp_path / "cache")}
    folder, root = tmp_path / "in", tmp_path / "archive"
    folder.mkdir()
    shutil.copy(next(corpus.CORPUS.rglob("p001.mp3")), folder / "sonnet.mp3")  # a 17 KB transcript JSON
    if existing:
        (tmp_path / "none").mkdir()
        assert _talkdown("archive", str(tmp_path / "none"), "-o", str(root), env=env).returncode == 0
    full = _talkdown("archive", str(folder), "-o", str(root), env=env, fsize=fsize)
    assert full.returncode == 1
    assert "Traceback" not in full.stderr
    assert re.search(r"error: .*(File too large|disk I/O error|file size limit)", full.stderr), full.stderr
    again = _talkdown("archive", str(folder), "-o", str(root), env=env)
    assert again.returncode == 0, again.stderr
    _consistent(root)


def test_a_damaged_catalogue_is_one_sentence_in_every_command(tmp_path: Path) -> None:
    """[9] Random pages after a valid header: tracebacks in search, archive and render."""
    root, src = tmp_path / "archive", tmp_path / "src"
    src.mkdir()
    shutil.copy(SEED, src)
    assert _run("import", str(src), "-o", str(root)).exit_code == 0
    db = root / "talkdown.db"
    data = bytearray(db.read_bytes())
    data[4096:] = random.Random(1).randbytes(len(data) - 4096)
    db.write_bytes(bytes(data))
    clip = tmp_path / "jfk.flac"
    clip.write_bytes(JFK)
    for argv in (["search", "putin", "-o", str(root)], ["archive", str(clip), "-o", str(root)],
                 ["render", "youtube:MGgDHevAc8A", "--archive", str(root), "-o", str(tmp_path / "out")]):
        result = _run(*argv)
        assert result.exit_code == 1, argv
        assert f"The catalogue {db} is damaged" in result.stderr and "move talkdown.db aside" in result.stderr
    db.rename(tmp_path / "damaged.db")  # as the sentence says: the files rebuild the catalogue
    (tmp_path / "nothing").mkdir()
    assert _run("archive", str(tmp_path / "nothing"), "-o", str(root)).exit_code == 0
    assert "Istanbul" in _run("search", "istanbul", "-o", str(root)).stdout


def _read_only(root: Path) -> list[str]:
    """A command prefix under which ``root`` is read-only: a read-only bind mount for root
    (who writes anywhere), else the files' modes."""
    if os.geteuid() != 0:
        for path in (*root.rglob("*"), root):
            path.chmod(0o555 if path.is_dir() else 0o444)
        return []
    if subprocess.run(["unshare", "-m", "true"], capture_output=True).returncode != 0:
        pytest.skip("running as root without the right to mount: no way to make a folder read-only here")
    script = 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" "$0" && exec "$@"'
    return ["unshare", "-m", "sh", "-c", script, str(root)]


def test_a_read_only_archive_is_read_read_only(tmp_path: Path) -> None:
    """[11] search, render and serve called a healthy database 'not a talkdown catalogue … move it aside'."""
    root, src = tmp_path / "archive", tmp_path / "src"
    src.mkdir()
    shutil.copy(SEED, src)
    assert _run("import", str(src), "-o", str(root)).exit_code == 0
    prefix = _read_only(root)
    env = {**os.environ, "TALKDOWN_CACHE": str(tmp_path / "cache")}

    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*prefix, *argv], capture_output=True, text=True, env=env, timeout=120)

    found = run(str(TALKDOWN), "search", "direct talks", "-o", str(root), "--limit", "1")
    assert found.returncode == 0, found.stderr
    assert "Putin calls for 'direct talks'" in found.stdout
    rendered = run(str(TALKDOWN), "render", "youtube:MGgDHevAc8A", "--archive", str(root), "-f", "srt", "-o", "-")
    assert rendered.returncode == 0, rendered.stderr
    assert "Istanbul" in rendered.stdout
    page = run(sys.executable, "-c", "import sys; from pathlib import Path; from starlette.testclient import TestClient; "
               "from talkdown.serve.app import create_app; "
               "r = TestClient(create_app(Path(sys.argv[1]))).get('/v/youtube:MGgDHevAc8A'); "
               "print(r.status_code, 'Istanbul' in r.text)", str(root))
    assert page.stdout.split() == ["200", "True"], page.stderr
    refused = run(str(TALKDOWN), "archive", str(src), "-o", str(root))
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert re.search(r"error: Cannot write to .*(read-only|permission denied)", refused.stderr), refused.stderr
    assert not list(root.rglob(".tmp-talkdown-*"))


def test_render_of_a_file_that_is_not_text_is_one_sentence(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_bytes(b"\xff\xfe{}")
    result = _run("render", str(bad), "-o", "-")
    assert result.exit_code == 1 and f"{bad} is not UTF-8 text" in result.stderr
