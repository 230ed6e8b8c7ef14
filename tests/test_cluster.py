"""``talkdown archive --executor ray`` on a real two-node Ray cluster on 127.0.0.1.

The test starts the cluster itself (``ray start --head`` and ``ray start --address`` as
separate processes, each in its own process group, each with its own ``--num-cpus``)
and ends it by those process groups. The archive runs as a user runs it, a
``talkdown`` process (the driver); the engine is the fake one (a word a second, a
language by length), so what is tested is distribution, not recognition.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import corpus
from localweb import podcast_feed, serve
from processes import descendants, end

pytest.importorskip("ray", reason="Ray is in the test extra; install it: pip install -e '.[test]'")

BIN = Path(sys.executable).parent
TALKDOWN, RAY = str(BIN / "talkdown"), str(BIN / "ray")
JFK = next(corpus.CORPUS.rglob("jfk.flac"))  # 11.0 s
# No usage reports; no token auth (a token file in ~/.ray from another cluster must not matter).
RAY_ENV = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled"}
CLIPS = [next(corpus.CORPUS.rglob(n)) for n in ("jfk.flac", "p001.mp3", "p002.mp3", "mfa_words.flac",
                                                "61-70968-0000.flac", "mfa_surround.flac")]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(args: list[str], temp: Path, log: str) -> subprocess.Popen:
    return subprocess.Popen([RAY, "start", "--block", "--disable-usage-stats", "--object-store-memory=100000000",
                             *args],
                            stdout=open(temp.parent / f"{log}.log", "w"), stderr=subprocess.STDOUT,
                            start_new_session=True, env={**os.environ, **RAY_ENV})


@pytest.fixture(scope="module")
def cluster() -> Iterator[tuple[str, subprocess.Popen, subprocess.Popen]]:
    """A head node (2 CPUs) and a worker node (2 CPUs) on 127.0.0.1, alive for this module."""
    base = Path(tempfile.mkdtemp(prefix="tdray-", dir="/tmp"))  # Ray's socket paths must stay short
    port = _free_port()
    address = f"127.0.0.1:{port}"
    head = _start(["--head", f"--port={port}", "--node-ip-address=127.0.0.1", "--num-cpus=2",
                   "--include-dashboard=false", f"--temp-dir={base / 'head'}"],
                  base / "head", "head")
    worker = None
    try:
        _wait_for_port(port, 60)
        worker = _start([f"--address={address}", "--node-ip-address=127.0.0.1", "--num-cpus=2"],
                        base / "worker", "worker")
        _wait_for_nodes(address, 2, 90)
        yield address, head, worker
    finally:
        for node in (worker, head):
            if node is not None:
                end(node)


def _wait_for_port(port: int, seconds: float) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise AssertionError(f"the Ray head did not listen on {port}")


def _wait_for_nodes(address: str, count: int, seconds: float) -> None:
    probe = ("import ray, sys; ray.init(address=sys.argv[1], logging_level='ERROR'); "
             "print(sum(n['Alive'] for n in ray.nodes()))")
    deadline = time.time() + seconds
    while time.time() < deadline:
        done = subprocess.run([sys.executable, "-c", probe, address], capture_output=True, text=True, timeout=60,
                              env={**os.environ, **RAY_ENV})
        if done.stdout.strip() == str(count):
            return
        time.sleep(1)
    raise AssertionError(f"the cluster at {address} did not reach {count} nodes")


def _env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "TALKDOWN_CACHE": str(tmp_path / "cache"), **RAY_ENV}


def _rows(root: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(root / "talkdown.db") as db:
        return list(db.execute("SELECT id, status FROM videos ORDER BY id"))


def _agree(root: Path, count: int) -> None:
    """Every item exactly once: one done row per item, one Markdown and one JSON file each."""
    rows = _rows(root)
    assert len(rows) == count and {s for _, s in rows} == {"done"}
    assert len(list(root.glob("*/*.md"))) == len(list(root.glob("*/.json/*.json"))) == count


@pytest.fixture
def feed() -> Iterator[str]:
    files = {f"/media/{p.name}": p.read_bytes() for p in CLIPS}
    with serve(files) as web:
        files["/feed.xml"] = podcast_feed(web.base, [p.name for p in CLIPS])
        yield f"{web.base}/feed.xml"


def test_a_feed_is_archived_on_the_cluster_and_a_killed_worker_loses_nothing(cluster, feed, tmp_path: Path) -> None:
    """Workers download, decode and transcribe; the driver writes. An actor's process killed
    mid-run is started again and its item retried: every item once, files and catalogue agreeing."""
    address, head, worker = cluster
    root = tmp_path / "archive"
    run = subprocess.Popen([TALKDOWN, "archive", feed, "-o", str(root), "--executor", "ray", "--ray-address", address,
                            "--jobs", "2", "--engine", "fake"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, env={**_env(tmp_path), "TALKDOWN_FAKE_DELAY": "1.5"})
    first = run.stdout.readline()  # the first archived item's path: the run is under way
    assert first.endswith(".md\n"), run.stderr.read()
    actors = [pid for node in (head, worker) for pid in descendants(node.pid)
              if "_Worker" in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")]
    assert actors, "no Ray actor process found"
    os.kill(actors[0], signal.SIGKILL)
    out, err = run.communicate(timeout=300)
    assert run.returncode == 0, err
    assert err.strip().endswith(f"{len(CLIPS)} archived, 0 skipped, 0 failed")
    _agree(root, len(CLIPS))
    text = next(root.glob("*/*jfk.flac*.md")).read_text()
    assert "w1 w2 w3" in text and "Transcription Model: fake 1 fake" in text


def test_each_item_keeps_its_language_on_the_cluster(cluster, tmp_path: Path) -> None:
    address, _, _ = cluster
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a-german.flac").write_bytes(JFK.read_bytes())
    corpus.write_wav(folder / "b-french.wav", corpus.decode16k(JFK)[: 16_000 * 6])
    root = tmp_path / "archive"
    done = subprocess.run([TALKDOWN, "archive", str(folder), "-o", str(root), "--executor", "ray", "--ray-address",
                           address, "--jobs", "2", "--engine", "fake"], capture_output=True, text=True, timeout=300,
                          env={**_env(tmp_path), "TALKDOWN_FAKE_LANGUAGES": "11=de,6=fr"})
    assert done.returncode == 0, done.stderr
    languages = {}
    for path in root.glob("*/.json/*.json"):
        data = json.loads(path.read_text())
        languages[data["media"]["title"]] = data["language"]
    assert languages == {"a-german": "de", "b-french": "fr"}


def test_a_cluster_that_does_not_answer_is_one_sentence(tmp_path: Path) -> None:
    port = _free_port()
    done = subprocess.run([TALKDOWN, "archive", str(JFK), "-o", str(tmp_path / "archive"), "--executor", "ray",
                           "--ray-address", f"127.0.0.1:{port}", "--engine", "fake"],
                          capture_output=True, text=True, timeout=120, env=_env(tmp_path))
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert f"Could not reach the Ray cluster at 127.0.0.1:{port}" in done.stderr
    assert not list((tmp_path / "archive").glob("*/*.md"))


def test_a_worker_that_cannot_load_the_model_is_one_sentence(cluster, tmp_path: Path) -> None:
    address, _, _ = cluster
    done = subprocess.run([TALKDOWN, "archive", str(JFK), "-o", str(tmp_path / "archive"), "--executor", "ray",
                           "--ray-address", address, "--model", str(tmp_path / "nosuchdir") + "/"],
                          capture_output=True, text=True, timeout=300, env=_env(tmp_path))
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert "No model folder at" in done.stderr
    assert not list((tmp_path / "archive").glob("*/*.md"))
