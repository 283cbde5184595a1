"""Measuring: processes (wall time and peak memory), latencies (percentiles), HTTP and the machine."""

import datetime
import importlib.metadata
import os
import platform
import socket
import sqlite3
import statistics
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import psutil
import yaml

POLL_SECONDS = 0.05


class BenchError(Exception):
    """A step of the benchmark could not be measured (a process failed, a server never came up)."""


@dataclass
class ProcessRun:
    command: list[str]
    seconds: float
    returncode: int
    # The kernel's high-water mark (wait4's ru_maxrss): the largest resident set of the process or of
    # any child it waited for. Exact, however short the peak.
    peak_rss_bytes: int
    # psutil's sum over the process and its live children, sampled every POLL_SECONDS: catches
    # children running side by side, may miss a peak shorter than the interval.
    peak_tree_rss_bytes: int
    stdout: str
    stderr: str

    def check(self) -> "ProcessRun":
        if self.returncode != 0:
            tail = (self.stderr or self.stdout).strip().splitlines()[-15:]
            raise BenchError(f"{' '.join(self.command)} exited with {self.returncode}:\n" + "\n".join(tail))
        return self


def _tree_rss(process: psutil.Process) -> int:
    total = process.memory_info().rss
    for child in process.children(recursive=True):
        try:
            total += child.memory_info().rss
        except psutil.Error:
            pass  # the child ended between listing and reading
    return total


def run_process(command: list[str], cwd: Path | None = None, env: dict | None = None) -> ProcessRun:
    """Run a command to completion: wall time from start to exit, peak RSS by two measures, its output."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=err, cwd=cwd, env=env)
        peak = [0]
        finished = threading.Event()

        def poll():
            try:
                watched = psutil.Process(process.pid)
                while not finished.is_set():
                    peak[0] = max(peak[0], _tree_rss(watched))
                    finished.wait(POLL_SECONDS)
            except psutil.Error:
                pass  # the process has ended

        poller = threading.Thread(target=poll, daemon=True)
        poller.start()
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)  # reaped here, so Popen must not wait again
        finished.set()
        poller.join()
        out.seek(0)
        err.seek(0)
        return ProcessRun(
            command=[str(part) for part in command],
            seconds=round(seconds, 3),
            returncode=process.returncode,
            peak_rss_bytes=usage.ru_maxrss * 1024,  # kilobytes on Linux
            peak_tree_rss_bytes=peak[0],
            stdout=out.read().decode("utf-8", "replace"),
            stderr=err.read().decode("utf-8", "replace"),
        )


def percentiles(samples_ms: list[float]) -> dict:
    """p50, p95, mean and max of latencies in milliseconds."""
    if not samples_ms:
        return {"count": 0, "p50_ms": None, "p95_ms": None, "mean_ms": None, "max_ms": None}
    if len(samples_ms) == 1:
        p50 = p95 = samples_ms[0]
    else:
        cuts = statistics.quantiles(samples_ms, n=100, method="inclusive")
        p50, p95 = cuts[49], cuts[94]
    return {
        "count": len(samples_ms),
        "p50_ms": round(p50, 2),
        "p95_ms": round(p95, 2),
        "mean_ms": round(statistics.fmean(samples_ms), 2),
        "max_ms": round(max(samples_ms), 2),
    }


def time_calls(call: Callable, items: Iterable, warmup: int = 0) -> tuple[list[float], list]:
    """Call `call(item)` for each item after `warmup` untimed calls; returns (milliseconds, results)."""
    items = list(items)
    for item in items[:warmup]:
        call(item)
    timings, results = [], []
    for item in items:
        started = time.perf_counter()
        results.append(call(item))
        timings.append((time.perf_counter() - started) * 1000)
    return timings, results


# -- HTTP ------------------------------------------------------------------------------------------

# Loopback only, and never through a proxy the environment may name.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_get(url: str, timeout: float = 60.0) -> tuple[int, bytes]:
    try:
        with _opener.open(url, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def wait_for_http(url: str, process: subprocess.Popen, timeout: float = 60.0) -> float:
    """Seconds until `url` answers 200; BenchError if the server exits or never answers."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if process.poll() is not None:
            raise BenchError(f"the server exited with {process.returncode} before answering")
        try:
            if http_get(url, timeout=5)[0] == 200:
                return time.perf_counter() - started
        except OSError:
            pass  # not listening yet
        time.sleep(0.2)
    raise BenchError(f"no answer from {url} within {timeout:.0f} s")


def stop(process: subprocess.Popen, timeout: float = 10.0) -> None:
    """End a server this benchmark started (and only it): terminate, then kill if it lingers."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout)


# -- the machine -----------------------------------------------------------------------------------


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def _cpu_model() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def machine() -> dict:
    import whoosh

    return {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "cpu_model": _cpu_model(),
        "memory_bytes": psutil.virtual_memory().total,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "whoosh": whoosh.versionstring(),
        "sqlite": sqlite3.sqlite_version,
        "sqlite_utils": _version("sqlite-utils"),
        "datasette": _version("datasette"),
        "pyyaml": yaml.__version__,
        "libyaml": bool(getattr(yaml, "__with_libyaml__", False)),
    }


def folder_bytes(path: Path) -> int:
    path = Path(path)
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.exists() else 0
