"""Shared fixtures: real SQLite files and real Whoosh indexes, built from the sample data or small files."""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlite_utils
from testimony_archive.ingest import crypto, load, privacy, store
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
FIXTURES = Path(__file__).resolve().parent / "fixtures"

# The browser tests drive Debian's chromium through playwright, never a downloaded browser.
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


# The facets the search API promises (issue: search); written out so the tests pin the contract.
FACET_NAMES = {"role", "status", "relationship", "publisher", "tags", "year", "language", "pseudonym"}


def fixture(name: str) -> Path:
    return FIXTURES / name


@pytest.fixture(scope="session", autouse=True)
def archive_key_file(tmp_path_factory) -> Path:
    """Every test (and every process it starts) uses an archive key of its own, never a developer's."""
    path = tmp_path_factory.mktemp("key") / "archive.key"
    crypto.generate_key(path)
    os.environ[crypto.KEY_ENV] = str(path)
    return path


@pytest.fixture
def runner():
    return CliRunner()


@pytest.fixture(scope="session")
def sample_archive(tmp_path_factory) -> Path:
    """The sample data in data/ ingested once: a real database and index shared by read-only tests."""
    path = tmp_path_factory.mktemp("sample") / "archive.db"
    db = store.open_archive(path)
    report = load.ingest_paths(db, Path(f"{path}.whoosh"), [DATA])
    assert report.exit_code == 0, report.summary()
    db.close()
    return path


@pytest.fixture
def sample_copy(sample_archive, tmp_path) -> Path:
    """A private copy of the sample archive for tests that write."""
    path = tmp_path / "archive.db"
    shutil.copy(sample_archive, path)
    shutil.copytree(f"{sample_archive}.whoosh", f"{path}.whoosh")
    return path


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def rows(db_path: Path, sql: str, params=()):
    db = sqlite_utils.Database(db_path)
    try:
        return [dict(row) for row in db.query(sql, params)]
    finally:
        db.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running_server(command: list[str], port: int, log: Path, timeout: float = 60.0, **popen) -> Iterator[str]:
    """A real server process started with `command` (listening on `port`, its stderr in `log`): yields its
    base URL once it answers /robots.txt, and stops it afterwards. Fails with its log if it exits first or
    does not answer within `timeout` seconds."""
    base = f"http://127.0.0.1:{port}"
    with Path(log).open("wb") as stderr:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr, **popen)
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    urllib.request.urlopen(base + "/robots.txt", timeout=5).close()
                    break
                except OSError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        raise AssertionError(f"the server did not start: {Path(log).read_text()}") from None
                    time.sleep(0.2)
            yield base
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def published_sample(tmp_path_factory, *extra: Path, name: str = "archive") -> Path:
    """A public archive `<name>.db` built the way users build one: the sample data (and `extra` files)
    ingested into a full archive, then published."""
    folder = tmp_path_factory.mktemp("sources")
    shutil.copytree(DATA, folder / "data")
    for path in extra:
        shutil.copy(path, folder / path.name)
    full = tmp_path_factory.mktemp("full") / "full.db"
    report = load.ingest_paths(store.open_archive(full), Path(f"{full}.whoosh"), [folder])
    assert report.exit_code == 0, report.summary()
    public = tmp_path_factory.mktemp("public") / f"{name}.db"
    privacy.publish(full, public)
    return public


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's chromium for the browser tests: skipped with TESTIMONY_SKIP_BROWSER=1, else required."""
    if os.environ.get("TESTIMONY_SKIP_BROWSER") == "1":
        pytest.skip("TESTIMONY_SKIP_BROWSER=1")
    assert Path(CHROMIUM).exists(), "Debian's chromium is needed: apt-get install chromium (see .ci/run)"
    return CHROMIUM


@pytest.fixture(scope="session")
def sample_server(tmp_path_factory) -> Iterator[str]:
    """The sample data ingested, published and served by a real `testimony serve` process, the way a user
    runs it: yields the base URL. Read-only, so the browser test modules share it."""
    folder = tmp_path_factory.mktemp("served")
    full, db = folder / "archive.db", folder / "public.db"
    testimony = [sys.executable, "-m", "testimony_archive.ingest.cli"]
    subprocess.run([*testimony, "ingest", str(DATA), "--db", str(full)], check=True, capture_output=True, cwd=ROOT)
    subprocess.run(
        [*testimony, "publish", "--db", str(full), "--out", str(db)], check=True, capture_output=True, cwd=ROOT
    )
    port = free_port()
    command = [*testimony, "serve", "--db", str(db), "--port", str(port)]
    with running_server(command, port, folder / "serve.log", cwd=ROOT) as base:
        yield base


@pytest.fixture(scope="module")
def browser(chromium):
    """A headless chromium driven by playwright, one per test module (the sync API owns an event loop while
    it runs, so it does not outlive the module's tests)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
