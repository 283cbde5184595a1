"""Crash safety and concurrency with real processes: SIGKILL mid-ingest, two ingests at once, and
`testimony serve` answering while an ingest runs."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from .conftest import ROOT, free_port
from .corpus import write_corpus

TESTIMONY = [sys.executable, "-m", "testimony_archive.ingest.cli"]


def run_cli(*args, check=False, timeout=120):
    return subprocess.run(
        [*TESTIMONY, *map(str, args)], cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=check
    )


def start(*args, env=None):
    return subprocess.Popen(
        [*TESTIMONY, *map(str, args)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )


def count(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(db, timeout=5) as conn:
            return conn.execute("select count(*) from testimonies").fetchone()[0]
    except sqlite3.OperationalError:  # not created yet
        return 0


def wait_until(condition, process, timeout=60.0, interval=0.02):
    deadline = time.monotonic() + timeout
    while not condition():
        if process.poll() is not None:
            return False
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(interval)
    return True


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("corpus")
    total = write_corpus(folder, files=150, per_file=20)
    return folder, total


def test_kill_9_at_any_moment_then_rerun_ends_clean(corpus, tmp_path):
    folder, total = corpus
    db = tmp_path / "a.db"
    # Kill early (first files written), midway, and once every file is in SQLite (the index commit).
    for threshold in (20, total // 2, total):
        process = start("ingest", folder, "--db", db)
        reached = wait_until(lambda threshold=threshold: count(db) >= threshold, process)
        process.send_signal(signal.SIGKILL)
        process.wait()
        assert reached or process.returncode == 0
        # Whatever moment it died at, the archive opens and the database is sound.
        with sqlite3.connect(db) as conn:
            assert conn.execute("pragma integrity_check").fetchone()[0] == "ok"
    result = run_cli("ingest", folder, "--db", db, "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["failed"] == 0
    assert count(db) == total
    with sqlite3.connect(db) as conn:
        assert conn.execute("select count(distinct id) from testimonies").fetchone()[0] == total
        assert conn.execute("select count(distinct text) from testimonies").fetchone()[0] == total
    verify = run_cli("verify", "--db", db, "--json")
    assert verify.returncode == 0, verify.stdout
    report = json.loads(verify.stdout)
    assert report["ok"] and report["index_documents"] == total


def test_a_lagging_index_is_repaired_by_the_next_ingest(corpus, tmp_path):
    folder, total = corpus
    db = tmp_path / "a.db"
    process = start("ingest", folder, "--db", db)
    wait_until(lambda: count(db) >= total, process)  # SQLite has it all; the index has not committed
    process.send_signal(signal.SIGKILL)
    process.wait()
    verify = run_cli("verify", "--db", db)
    if process.returncode == -signal.SIGKILL and verify.returncode == 1:
        assert "PROBLEMS" in verify.stdout
    # An ingest of nothing new still repairs the lag before it starts.
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run_cli("ingest", empty, "--db", db, "--json")
    assert result.returncode == 0, result.stderr
    assert run_cli("verify", "--db", db).returncode == 0


def test_second_ingest_waits_then_fails_clearly(corpus, tmp_path):
    folder, total = corpus
    db = tmp_path / "a.db"
    first = start("ingest", folder, "--db", db)
    assert wait_until(lambda: count(db) > 0, first), "the first ingest finished before the second could start"
    other = tmp_path / "other"
    write_corpus(other, files=2, seed=99)
    second = run_cli("ingest", other, "--db", db, "--lock-timeout", "1")
    assert second.returncode == 1
    assert "locked by another process (waited 1 s); is another ingest, takedown or publish running?" in second.stderr
    assert "Traceback" not in second.stderr + second.stdout
    assert first.wait(timeout=120) == 0, first.stderr.read()
    assert count(db) == total  # the second wrote nothing
    assert run_cli("verify", "--db", db).returncode == 0
    # Once the first is done, the second goes in.
    assert run_cli("ingest", other, "--db", db).returncode == 0
    assert count(db) == total + 40


def test_serve_answers_during_an_ingest_and_sees_it_after(corpus, tmp_path):
    folder, total = corpus
    db = tmp_path / "archive.db"
    seed = tmp_path / "seed"
    write_corpus(seed, files=1, seed=7)
    assert run_cli("ingest", seed, "--db", db).returncode == 0
    # A full archive is served only behind the archivist's login: a real login, through a signed cookie.
    from datasette.app import Datasette
    from datasette_auth_passwords.utils import hash_password

    secret = "test-secret-for-this-run"
    env = dict(
        os.environ, TESTIMONY_ARCHIVIST_PASSWORD_HASH=hash_password("a long test password"), DATASETTE_SECRET=secret
    )
    cookie = "ds_actor=" + Datasette(secret=secret).sign({"a": {"id": "archivist"}}, "actor")
    port = free_port()
    server = start("serve", "--db", db, "--port", port, env=env)
    base = f"http://127.0.0.1:{port}"

    def get(path):
        request = urllib.request.Request(base + path, headers={"Cookie": cookie})
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())

    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                get("/-/versions.json")
                break
            except urllib.error.HTTPError:
                raise
            except OSError:
                assert time.monotonic() < deadline and server.poll() is None, "serve did not start"
                time.sleep(0.2)
        assert get("/-/search.json?q=detained")[1]["total"] <= 20
        ingest = start("ingest", folder, "--db", db)
        answered = 0
        while ingest.poll() is None:
            status, data = get("/-/search.json?q=detained")
            assert status == 200 and data["ok"]
            status, table = get("/archive/testimonies.json?_size=1")
            assert status == 200
            answered += 1
            time.sleep(0.05)
        assert ingest.returncode == 0, ingest.stderr.read()
        assert answered > 3
        status, data = get("/-/search.json?q=detained")
        expected = json.loads(run_cli("search", "detained", "--db", db, "--json").stdout)["total"]
        assert data["total"] == expected > 20
    finally:
        server.terminate()
        server.wait(timeout=10)
