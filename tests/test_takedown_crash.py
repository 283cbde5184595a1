"""Witness safety under kill -9: a takedown or a publish killed at a random moment, with real processes.

A pristine working set (a full archive, and a public copy `publish` recorded by absolute path) is built
once and copied back into the same folder before each iteration. A command is started, killed with
SIGKILL at a seeded-random moment within its measured duration, and both archives are then checked:
each database is sound and in its old or its new state, never in between; search agrees with SQLite
(hits, totals, facets); a testimony gone from a public copy already has its tombstone. Then the same
command is run again and must complete, `verify` must be clean, and after a takedown the marker word is
in no byte of either archive or index. Every iteration is observed, and the assertions come at the end
with the kill time and the state of each iteration.
"""

import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.parse
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from testimony_archive.ingest.cli import app
from testimony_archive.search import api as search_api
from testimony_archive.search import index as search_index
from typer.testing import CliRunner

from .conftest import DATA, ROOT, fixture
from .corpus import write_corpus

TESTIMONY = [sys.executable, "-m", "testimony_archive.ingest.cli"]
# 4 files of 20 synthetic testimonies besides data/ and restricted.yml: an uninterrupted takedown (two index
# rebuilds) takes ~3-4 s and a publish ~2-3 s on a 2-core machine, ~1 s of which is the interpreter starting.
CORPUS_FILES = 4
# Ingested after the copy is published, so the next publish changes it (20 more testimonies).
LATER_FILES = 1
ITERATIONS = 20
EARLY_KILLS = 4  # of ITERATIONS, while the interpreter starts
MEASUREMENTS = 3
SEED = 20251125
MARKER = b"zqtakedown"
FACET_COLUMNS = ("publisher", "year", "language", "role")
TIMEOUT = 180


def run_cli(cwd: Path, *args, timeout=TIMEOUT):
    return subprocess.run(
        [*TESTIMONY, *map(str, args)], cwd=cwd, env=cli_env(), capture_output=True, text=True, timeout=timeout
    )


def cli_env() -> dict:
    # The commands run in the working folder, not in ROOT: a takedown also reaches `public.db` in its working
    # folder, and a developer's own public.db in ROOT (`make serve`) must never be touched by a test.
    paths = [str(ROOT), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    return dict(os.environ, PYTHONPATH=os.pathsep.join(paths))


def shown(result) -> str:
    if isinstance(result, dict):
        result = subprocess.CompletedProcess([], result["returncode"], result["stdout"], result["stderr"])
    return f"exit {result.returncode}\nstdout: {result.stdout[-2000:]}\nstderr: {result.stderr[-2000:]}"


def verify_cli(full: Path):
    """`testimony verify --db FULL`, in this process (what was killed is the takedown or publish, and a
    verify run through typer's runner spares ~1 s of interpreter start per iteration)."""
    return CliRunner().invoke(app, ["verify", "--db", str(full)])


def kill_at(cwd: Path, args: list, delay: float) -> dict:
    """Start the command, SIGKILL it `delay` seconds later unless it has finished by then."""
    process = subprocess.Popen(
        [*TESTIMONY, *map(str, args)],
        cwd=cwd,
        env=cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        process.wait(timeout=delay)
        finished = True
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGKILL)
        finished = False
    stdout, stderr = process.communicate(timeout=TIMEOUT)
    return {"finished": finished, "returncode": process.returncode, "stdout": stdout, "stderr": stderr}


def kill_times(duration: float, startup: float, seed: int) -> list[float]:
    """Seeded-random moments in [0, duration), one in each slice of it: EARLY_KILLS slices share the
    interpreter's start (before it the command has touched nothing), the others share the rest, so every
    phase of the work is reached."""
    rng = random.Random(seed)
    startup = min(startup, duration / 2)
    late = ITERATIONS - EARLY_KILLS
    early_times = [(slot + rng.random()) * startup / EARLY_KILLS for slot in range(EARLY_KILLS)]
    late_times = [startup + (slot + rng.random()) * (duration - startup) / late for slot in range(late)]
    return [round(moment, 3) for moment in early_times + late_times]


def timed(cwd: Path, args: list, restore) -> float:
    """The longest wall time of MEASUREMENTS uninterrupted runs: the machine is shared and a run's time varies,
    and a span cut short would never reach a command's last steps (publish installs the copy at its very end);
    a kill drawn after a run has finished is only noted."""
    times = []
    for _ in range(MEASUREMENTS):
        restore()
        moment = time.monotonic()
        result = run_cli(cwd, *args)
        times.append(time.monotonic() - moment)
        assert result.returncode == 0, shown(result)
    return max(times)


def connect_read_only(db: Path) -> sqlite3.Connection:
    # Read-only, so looking at what a killed process left changes nothing the next run starts from.
    uri = f"file:{urllib.parse.quote(str(db.resolve()))}?mode=ro"
    return sqlite3.connect(uri, uri=True, timeout=30)


def read_only(db: Path):
    return closing(connect_read_only(db))


def scalar(conn: sqlite3.Connection, sql: str, params=()):
    return conn.execute(sql, params).fetchone()[0]


@dataclass
class WorkingSet:
    folder: Path
    pristine: Path
    marker_id: str
    full_count: int
    public_count: int
    published_count: int = 0  # the public copy's count once publish has run again
    takedown_seconds: float = 0.0
    publish_seconds: float = 0.0
    startup_seconds: float = 0.0
    build_seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def full(self) -> Path:
        return self.folder / "archive.db"

    @property
    def public(self) -> Path:
        return self.folder / "public.db"

    def restore(self) -> None:
        """The pristine files, back at the same path (published copies are recorded by absolute path)."""
        shutil.rmtree(self.folder)
        shutil.copytree(self.pristine, self.folder)

    def takedown_args(self) -> list:
        return ["takedown", self.marker_id, "--reason", "x", "--db", self.full]

    def publish_args(self) -> list:
        return ["publish", "--db", self.full]


@pytest.fixture(scope="module")
def working_set(tmp_path_factory, archive_key_file) -> WorkingSet:
    started = time.monotonic()
    base = tmp_path_factory.mktemp("takedown-crash")
    folder, pristine = base / "work", base / "pristine"
    write_corpus(folder / "corpus", files=CORPUS_FILES)
    write_corpus(folder / "later", files=LATER_FILES, seed=2)
    full = folder / "archive.db"
    ingested = run_cli(folder, "ingest", DATA, fixture("sources/restricted.yml"), folder / "corpus", "--db", full)
    assert ingested.returncode == 0, shown(ingested)
    published = run_cli(folder, "publish", "--db", full)
    assert published.returncode == 0, shown(published)
    later = run_cli(folder, "ingest", folder / "later", "--db", full)
    assert later.returncode == 0, shown(later)
    with read_only(full) as conn:
        marker_ids = [row[0] for row in conn.execute("select id from testimonies where text like '%zqtakedown%'")]
        full_count = scalar(conn, "select count(*) from testimonies")
    assert len(marker_ids) == 1, marker_ids
    with read_only(folder / "public.db") as conn:
        public_count = scalar(conn, "select count(*) from testimonies")
        assert scalar(conn, "select count(*) from testimonies where id = ?", [marker_ids[0]]) == 1
    shutil.copytree(folder, pristine)
    result = WorkingSet(folder, pristine, marker_ids[0], full_count, public_count)

    moment = time.monotonic()
    assert run_cli(folder, "--help").returncode == 0
    result.startup_seconds = time.monotonic() - moment
    result.takedown_seconds = timed(folder, result.takedown_args(), result.restore)
    result.publish_seconds = timed(folder, result.publish_args(), result.restore)
    with read_only(result.public) as conn:
        result.published_count = scalar(conn, "select count(*) from testimonies")
    assert result.published_count == public_count + 20 * LATER_FILES
    result.build_seconds = time.monotonic() - started
    print(
        f"\nworking set: full {full_count}, public {public_count} -> {result.published_count} testimonies; "
        f"startup {result.startup_seconds:.2f} s, takedown {result.takedown_seconds:.2f} s, "
        f"publish {result.publish_seconds:.2f} s, built in {result.build_seconds:.1f} s"
    )
    return result


# -- what a killed process left ----------------------------------------------------------------------


def sql_facets(conn: sqlite3.Connection, covered: set | None) -> dict[str, dict[str, int]]:
    """Facet counts computed with SQL over the testimonies table (only the (id, hash) pairs in `covered`
    when given: what the index holds of them)."""
    rows = conn.execute(f"select id, content_hash, {', '.join(FACET_COLUMNS)} from testimonies").fetchall()
    out = {}
    for position, column in enumerate(FACET_COLUMNS, start=2):
        counts: dict[str, int] = {}
        for row in rows:
            if covered is not None and (row[0], row[1]) not in covered:
                continue
            value = row[position]
            if value is None or value == "":
                continue
            counts[str(value)] = counts.get(str(value), 0) + 1
        out[column] = counts
    return out


def observe(db: Path, index: Path, marker_id: str, problems: list[str], name: str) -> dict:
    """What a reader sees of one archive; every disagreement goes to `problems`, prefixed with `name`."""
    seen: dict = {"name": name}
    try:
        conn = connect_read_only(db)
    except sqlite3.Error as error:
        problems.append(f"{name}: the database does not open: {error}")
        return seen
    try:
        integrity = [row[0] for row in conn.execute("pragma integrity_check")]
        if integrity != ["ok"]:
            problems.append(f"{name}: integrity_check says {integrity[:3]}")
        conn.execute("begin")  # one snapshot for every count below
        seen["count"] = scalar(conn, "select count(*) from testimonies")
        seen["marker_present"] = bool(scalar(conn, "select count(*) from testimonies where id = ?", [marker_id]))
        marker_rows = {row[0] for row in conn.execute("select id from testimonies where text like '%zqtakedown%'")}
        all_ids = {row[0] for row in conn.execute("select id from testimonies")}
        seen["db_generation"] = int(
            (conn.execute("select value from archive_meta where key = 'generation'").fetchone() or [0])[0]
        )
        seen["index_generation"] = search_index.read_generation(index)
        gaps = [
            source_id
            for source_id, positions in conn.execute(
                "select source_id, json_group_array(position) from testimonies group by source_id"
            )
            if sorted(json.loads(positions)) != list(range(len(json.loads(positions))))
        ]
        seen["position_gaps"] = gaps
        if "tombstones" in {row[0] for row in conn.execute("select name from sqlite_master where type = 'table'")}:
            seen["tombstoned"] = bool(
                scalar(conn, "select count(*) from tombstones where testimony_id = ?", [marker_id])
            )
        conn.execute("commit")
    except sqlite3.Error as error:
        problems.append(f"{name}: reading the database failed: {error}")
        return seen
    try:
        found = search_api.search(db, index, "zqtakedown")
        every = search_api.search(db, index, "")
    except Exception as error:  # noqa: BLE001 - any failure to search is the finding
        problems.append(f"{name}: search failed: {type(error).__name__}: {error}")
        return seen
    finally:
        conn.close()
    seen["marker_total"], seen["total"], seen["unindexed"] = found.total, every.total, every.unindexed
    if found.total != len(marker_rows):
        problems.append(f"{name}: search finds zqtakedown {found.total} time(s), SQLite holds {len(marker_rows)}")
    strays = [hit["id"] for hit in found.hits + every.hits if hit["id"] not in all_ids]
    if strays:
        problems.append(f"{name}: hits SQLite does not hold: {strays}")
    if every.total + every.unindexed != seen["count"]:
        problems.append(
            f"{name}: total {every.total} + unindexed {every.unindexed} != {seen['count']} testimonies in SQLite"
        )
    covered = None
    if every.unindexed:
        covered = {(i, h) for i, hashes in search_index.indexed_hashes(index).items() for h in hashes}
    with read_only(db) as again:
        expected = sql_facets(again, covered)
    for column in FACET_COLUMNS:
        if every.facets.get(column, {}) != expected[column]:
            problems.append(f"{name}: facet {column} is {every.facets.get(column)}, SQL counts {expected[column]}")
    return seen


def marker_files(*paths: Path) -> list[str]:
    """Files (a database with its -wal/-shm/-journal, or every file in an index folder) whose lower-cased
    bytes hold the marker."""
    found = []
    for path in paths:
        candidates = [p for p in Path(path).rglob("*") if p.is_file()] if Path(path).is_dir() else []
        candidates += [Path(f"{path}{suffix}") for suffix in ("", "-wal", "-shm", "-journal")]
        found += [str(p) for p in candidates if p.is_file() and MARKER in p.read_bytes().lower()]
    return sorted(set(found))


def leftovers_with_marker(folder: Path) -> list[str]:
    """Any other file of the working folder (a half-swapped index, a build folder) still holding the marker."""
    skipped = {folder / "corpus", folder / "later"}
    return sorted(
        str(p)
        for p in folder.rglob("*")
        if p.is_file() and not skipped & set(p.parents) and MARKER in p.read_bytes().lower()
    )


def describe(iterations: list[dict]) -> str:
    lines = []
    for number, seen in enumerate(iterations):
        state = "finished before the kill" if seen["finished"] else "killed mid-run"
        lines.append(f"#{number} kill at {seen['delay']:.3f} s ({state}, exit {seen['returncode']}): {seen['state']}")
        lines += [f"    PROBLEM {problem}" for problem in seen["problems"]]
    return "\n".join(lines)


def state_of(seen: dict) -> str:
    keys = ("count", "marker_present", "tombstoned", "db_generation", "index_generation", "total", "unindexed")
    return "; ".join(
        f"{archive['name']}: " + ", ".join(f"{k}={archive[k]}" for k in keys if k in archive)
        for archive in (seen.get("public", {}), seen.get("full", {}))
        if archive
    )


# -- the tests ---------------------------------------------------------------------------------------


def test_takedown_killed_at_any_moment_leaves_old_or_new_state_and_a_rerun_completes(working_set):
    ws = working_set
    iterations = []
    for delay in kill_times(ws.takedown_seconds, ws.startup_seconds, SEED):
        ws.restore()
        killed = kill_at(ws.folder, ws.takedown_args(), delay)
        problems: list[str] = []
        if killed["finished"] and killed["returncode"] != 0:
            problems.append(f"the takedown failed on its own: {shown(killed)}")
        public = observe(ws.public, Path(f"{ws.public}.whoosh"), ws.marker_id, problems, "public")
        full = observe(ws.full, Path(f"{ws.full}.whoosh"), ws.marker_id, problems, "full")
        if public.get("position_gaps"):
            problems.append(f"public: positions with gaps in sources {public['position_gaps']}")
        for seen in (public, full):
            if seen.get("unindexed"):
                problems.append(f"{seen['name']}: {seen['unindexed']} unindexed after a takedown (it only removes)")
        if public.get("marker_present") is False and not full.get("tombstoned"):
            problems.append("the testimony is gone from the public copy but has no tombstone in the full archive")
        if full.get("marker_present") is False and public.get("marker_present"):
            problems.append("the testimony is gone from the full archive before the public copy")
        if public.get("marker_present") is False and public.get("count") != ws.public_count - 1:
            problems.append(f"public: {public.get('count')} testimonies, expected {ws.public_count - 1}")
        if public.get("marker_present") and public.get("count") != ws.public_count:
            problems.append(f"public: {public.get('count')} testimonies, expected {ws.public_count}")

        rerun = run_cli(ws.folder, *ws.takedown_args())
        if rerun.returncode != 0:
            problems.append(f"the takedown run again failed: {shown(rerun)}")
        verify = verify_cli(ws.full)
        if verify.exit_code != 0:
            problems.append(f"verify after the rerun: exit {verify.exit_code}\n{verify.output[-3000:]}")
        left = marker_files(ws.public, Path(f"{ws.public}.whoosh"), ws.full, Path(f"{ws.full}.whoosh"))
        if left:
            problems.append(f"the marker is still in {left}")
        stray = sorted(set(leftovers_with_marker(ws.folder)) - set(left))
        if stray:
            problems.append(f"the marker is still in leftover files beside the archives: {stray}")
        seen = {"delay": delay, "public": public, "full": full, "problems": problems, **killed}
        seen["state"] = state_of(seen)
        iterations.append(seen)

    mid_run = sum(not seen["finished"] for seen in iterations)
    print(f"\ntakedown: {mid_run}/{len(iterations)} kills landed mid-run (measured {ws.takedown_seconds:.2f} s)")
    print(describe(iterations))
    assert not any(seen["problems"] for seen in iterations), describe(iterations)


def test_publish_killed_at_any_moment_leaves_old_or_new_copy_and_a_rerun_completes(working_set):
    ws = working_set
    iterations = []
    for delay in kill_times(ws.publish_seconds, ws.startup_seconds, SEED + 1):
        ws.restore()
        killed = kill_at(ws.folder, ws.publish_args(), delay)
        problems: list[str] = []
        if killed["finished"] and killed["returncode"] != 0:
            problems.append(f"the publish failed on its own: {shown(killed)}")
        public = observe(ws.public, Path(f"{ws.public}.whoosh"), ws.marker_id, problems, "public")
        full = observe(ws.full, Path(f"{ws.full}.whoosh"), ws.marker_id, problems, "full")
        count = public.get("count")
        if count not in (ws.public_count, ws.published_count):
            problems.append(f"public: {count} testimonies, neither the old {ws.public_count} nor the new one")
        if public.get("position_gaps"):
            problems.append(f"public: positions with gaps in sources {public['position_gaps']}")
        if public.get("unindexed"):
            # Only between the database's install and the index's swap: the new database, the old index.
            between = count == ws.published_count and public.get("index_generation") != public.get("db_generation")
            if not between:
                problems.append(f"public: {public['unindexed']} unindexed outside the install-to-swap window")
        if full.get("unindexed"):
            problems.append(f"full: {full['unindexed']} unindexed (publish does not change its testimonies)")
        if full.get("count") != ws.full_count:
            problems.append(f"full: {full.get('count')} testimonies, expected {ws.full_count}")

        rerun = run_cli(ws.folder, *ws.publish_args())
        if rerun.returncode != 0:
            problems.append(f"the publish run again failed: {shown(rerun)}")
        verify = verify_cli(ws.full)
        if verify.exit_code != 0:
            problems.append(f"verify after the rerun: exit {verify.exit_code}\n{verify.output[-3000:]}")
        with read_only(ws.public) as conn:
            after = scalar(conn, "select count(*) from testimonies")
        if after != ws.published_count:
            problems.append(f"public after the rerun: {after} testimonies, expected {ws.published_count}")
        seen = {"delay": delay, "public": public, "full": full, "problems": problems, **killed}
        seen["state"] = state_of(seen)
        iterations.append(seen)

    mid_run = sum(not seen["finished"] for seen in iterations)
    print(f"\npublish: {mid_run}/{len(iterations)} kills landed mid-run (measured {ws.publish_seconds:.2f} s)")
    print(describe(iterations))
    assert not any(seen["problems"] for seen in iterations), describe(iterations)
