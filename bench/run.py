"""The whole benchmark in one command, on one corpus, in one run:

    python -m bench.run --testimonies 100000 [--seed 1] [--work DIR] [--skip-datasette] [--skip-naive]
        [--skip-takedown]

1. writes (or reuses) a synthetic corpus (`bench.generate`) under `--work` (default `bench/corpus/`);
2. times `testimony ingest CORPUS --db X` as a real process, with its peak memory;
3. beside it, the peers on the same files (`bench.peers`): a naive Whoosh writer and SQLite FTS5;
4. times a seeded mix of researcher queries (`bench.queries`) through `search.api.Archive.search`, and
   the same queries on FTS5 with `snippet()`, without and with facet counts;
5. publishes the public archive (`testimony publish`: public records only, as a public server must
   serve), serves it with `testimony serve` and times the testimonies table with `?_search=` and its
   default facets, and `/-/search`, over loopback HTTP;
6. times the ingest of one more 20-testimony file into the built archive (after the searches, so that
   they ran on exactly the records the peers hold);
7. times `testimony takedown` of one testimony, which reaches the published copy too;

then prints a Markdown table (the targets beside the measures) and writes `bench/results/<size>.json`.
The targets are set for 100,000 testimonies (peak memory: for 1,000,000); at other sizes the verdicts
are printed but indicative only. Nothing here asserts anything: the numbers are the output.
"""

import json
import shutil
import subprocess
import sys
import urllib.parse
from collections import Counter
from pathlib import Path
from typing import Annotated

import typer
from testimony_archive.search.api import Archive, SearchError
from testimony_archive.search.plugin.facets import COLUMNS as TABLE_FACETS

from . import generate, measure, peers, queries
from .measure import BenchError

ROOT = generate.ROOT
DEFAULT_WORK = ROOT / "bench" / "corpus"
DEFAULT_RESULTS = ROOT / "bench" / "results"
RUN_MARKER = ".bench-run"
# The testimonies table's default facets (metadata.yml), each of which the table page must show.
DEFAULT_FACETS = tuple(TABLE_FACETS)
TARGET_SIZE = 100_000
RSS_TARGET_SIZE = 1_000_000
# (key, human description, limit): a measure meets its target when it is at most the limit.
# The scale issue's targets (#15). Publish: half of the first 100k run's 384 s.
TARGETS = {
    "ingest_over_naive_whoosh": ("ingest / naive Whoosh", 0.8),
    "query_p50_over_fts5_facets": ("query p50 / FTS5+snippet+facets p50", 1.0),
    "query_p95_ms": ("query p95", 150.0),
    "incremental_seconds": ("incremental 20-testimony ingest", 2.0),
    "publish_seconds": ("testimony publish", 192.0),
    "takedown_seconds": ("takedown of one testimony", 60.0),
    "datasette_table_p95_ms": ("Datasette table page, _search + facets, p95", 300.0),
    "datasette_plain_p95_ms": ("Datasette table page, no filter, default facets, p95", 300.0),
    "ingest_peak_rss_bytes": ("ingest peak RSS (the process and its workers)", 1024**3),
}


def log(message: str) -> None:
    typer.echo(message, err=True)


def testimony_command() -> list[str]:
    """The `testimony` console script of this interpreter's environment."""
    script = Path(sys.executable).parent / "testimony"
    return [str(script)] if script.exists() else [sys.executable, "-m", "testimony_archive.ingest.cli"]


def _json_output(run: measure.ProcessRun) -> dict | None:
    try:
        return json.loads(run.stdout)
    except ValueError:
        return None


def _ratio(numerator, denominator) -> float | None:
    if numerator is None or not denominator:
        return None
    return round(numerator / denominator, 3)


def fresh_run_folder(path: Path) -> Path:
    """An empty folder for this run's stores; only a folder an earlier run made (it has the marker) is wiped."""
    if path.exists():
        if any(path.iterdir()) and not (path / RUN_MARKER).exists():
            raise BenchError(f"{path} exists and was not made by bench.run; remove it or choose another --work")
        shutil.rmtree(path)
    path.mkdir(parents=True)
    (path / RUN_MARKER).write_text("made by bench.run; deleted and rebuilt on the next run\n")
    return path


# -- the steps -------------------------------------------------------------------------------------


def measure_ingest(corpus: Path, db: Path, testimonies: int) -> dict:
    run = measure.run_process([*testimony_command(), "ingest", str(corpus), "--db", str(db), "--json"], cwd=ROOT)
    run.check()
    summary = _json_output(run)
    if not summary or summary.get("inserted") != testimonies or summary.get("failed"):
        raise BenchError(f"ingest did not insert all {testimonies} testimonies: {summary or run.stdout[-2000:]}")
    return {
        "seconds": run.seconds,
        "testimonies_per_second": round(testimonies / run.seconds, 1),
        "peak_rss_bytes": run.peak_rss_bytes,
        "peak_tree_rss_bytes": run.peak_tree_rss_bytes,
        "summary": summary,
    }


def measure_peer(kind: str, corpus: Path, target: Path, testimonies: int) -> dict:
    run = measure.run_process([sys.executable, "-m", "bench.peers", kind, str(corpus), str(target)], cwd=ROOT)
    run.check()
    reported = _json_output(run) or {}
    if reported.get("documents") != testimonies:
        raise BenchError(f"{kind} indexed {reported.get('documents')} of {testimonies} testimonies")
    return {
        "seconds": run.seconds,
        "testimonies_per_second": round(testimonies / run.seconds, 1),
        "peak_rss_bytes": run.peak_rss_bytes,
        "documents": reported["documents"],
    }


def measure_incremental(db: Path, folder: Path, seed: int, testimonies: int) -> dict:
    """One new source file (the corpus's next file number, so a new source) into the built archive."""
    path = folder / generate.relative_path(generate.file_count(testimonies)).name
    generate.write_file(path, seed, generate.file_count(testimonies))
    run = measure.run_process([*testimony_command(), "ingest", str(path), "--db", str(db), "--json"], cwd=ROOT)
    run.check()
    summary = _json_output(run) or {}
    if summary.get("inserted") != generate.TESTIMONIES_PER_FILE:
        raise BenchError(f"the incremental ingest did not insert 20 testimonies: {summary or run.stdout}")
    return {
        "seconds": run.seconds,
        "testimonies": generate.TESTIMONIES_PER_FILE,
        "peak_rss_bytes": run.peak_rss_bytes,
        # Documents the ingest re-indexed before its own work (an index from an older version of the code,
        # or one that lagged SQLite): when not 0, the time above is not an incremental one.
        "index_repaired": summary.get("index_repaired", 0),
        "summary": summary,
    }


def measure_search(db: Path, fts_db: Path, mix: list[queries.BenchQuery], warmup: int) -> dict:
    archive = Archive(db)
    fts = peers.Fts5Search(fts_db)
    errors: list[str] = []

    def ours(query):
        try:
            return archive.search(query.text, page_size=peers.PAGE_SIZE)
        except SearchError as error:
            errors.append(f"{query.text}: {error}")
            return None

    try:
        ours_ms, ours_results = measure.time_calls(ours, mix, warmup)
        snippet_ms, _ = measure.time_calls(lambda q: fts.search(q.match, q.where, q.params, facets=False), mix, warmup)
        facets_ms, fts_results = measure.time_calls(
            lambda q: fts.search(q.match, q.where, q.params, facets=True), mix, warmup
        )
    finally:
        archive.close()
        fts.close()
    by_kind = {}
    for kind in queries.KINDS:
        positions = [i for i, q in enumerate(mix) if q.kind == kind]
        by_kind[kind] = {
            "archive_p50_ms": measure.percentiles([ours_ms[i] for i in positions])["p50_ms"],
            "fts5_snippet_p50_ms": measure.percentiles([snippet_ms[i] for i in positions])["p50_ms"],
            "fts5_snippet_facets_p50_ms": measure.percentiles([facets_ms[i] for i in positions])["p50_ms"],
        }
    # How many testimonies each engine found, once per distinct query: the two should be of a size.
    agreement = {}
    for query, ours_result, fts_result in zip(mix, ours_results, fts_results, strict=True):
        agreement.setdefault(
            query.text,
            {
                "kind": query.kind,
                "query": query.text,
                "fts5_match": query.match,
                "fts5_where": query.where or None,
                "archive_total": ours_result.total if ours_result else None,
                "fts5_total": fts_result["total"],
            },
        )
    archive_stats = measure.percentiles(ours_ms)
    snippet_stats = measure.percentiles(snippet_ms)
    facets_stats = measure.percentiles(facets_ms)
    return {
        "queries": len(mix),
        "warmup": warmup,
        "page_size": peers.PAGE_SIZE,
        "archive": archive_stats,
        "fts5_snippet": snippet_stats,
        "fts5_snippet_facets": facets_stats,
        "p50_over_fts5_snippet": _ratio(archive_stats["p50_ms"], snippet_stats["p50_ms"]),
        "p50_over_fts5_snippet_facets": _ratio(archive_stats["p50_ms"], facets_stats["p50_ms"]),
        "by_kind": by_kind,
        "errors": errors,
        "distinct_queries": list(agreement.values()),
    }


def measure_publish(db: Path, public_db: Path) -> dict:
    """`testimony publish`: what a public server serves (`testimony serve` refuses a full archive holding
    restricted testimonies or private fields, and the generated corpus holds a few of both)."""
    run = measure.run_process(
        [*testimony_command(), "publish", "--db", str(db), "--out", str(public_db), "--json"], cwd=ROOT
    )
    run.check()
    return {"seconds": run.seconds, "peak_rss_bytes": run.peak_rss_bytes, "summary": _json_output(run)}


def measure_takedown(db: Path, mix: list[queries.BenchQuery], seed: int) -> dict:
    """`testimony takedown` of one testimony: the archive, its index and the published copy all lose it.
    Last of all (it changes both archives); the testimony is the first hit of the mix's first query."""
    archive = Archive(db)
    try:
        hits = archive.search(mix[0].text).hits
    finally:
        archive.close()
    if not hits:
        raise BenchError(f"nothing to take down: {mix[0].text!r} found no testimony")
    run = measure.run_process(
        [*testimony_command(), "takedown", hits[0]["id"], "--db", str(db), "--reason", "benchmark", "--json"],
        cwd=ROOT,
    )
    run.check()
    return {"seconds": run.seconds, "peak_rss_bytes": run.peak_rss_bytes, "summary": _json_output(run)}


def measure_datasette(db: Path, folder: Path, mix: list[queries.BenchQuery], requests: int, warmup: int) -> dict:
    port = measure.free_port()
    base = f"http://127.0.0.1:{port}"
    database = db.stem
    with open(folder / "serve.log", "wb") as server_log:
        server = subprocess.Popen(
            [*testimony_command(), "serve", "--db", str(db), "--port", str(port)],
            stdout=server_log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
    try:
        started_seconds = measure.wait_for_http(f"{base}/", server)
        statuses: Counter = Counter()

        def get(path: str) -> int:
            status, _ = measure.http_get(base + path)
            statuses[status] += 1
            return status

        chosen = [mix[i % len(mix)] for i in range(requests)]
        table_paths = [f"/{database}/testimonies?" + urllib.parse.urlencode({"_search": q.text}) for q in chosen]
        search_paths = ["/-/search?" + urllib.parse.urlencode({"q": q.text}) for q in chosen]
        table_ms, _ = measure.time_calls(get, table_paths, warmup)
        plain_ms, _ = measure.time_calls(get, [f"/{database}/testimonies"] * requests, warmup)
        search_ms, _ = measure.time_calls(get, search_paths, warmup)
        # The HTML page does not say whether a facet ran out of time (facet_time_limit_ms), the JSON does.
        # A facet can also be missing without a word (Datasette drops an array facet it could not check).
        timed_out, missing = Counter(), Counter()
        checked = 0
        for query in ["", *(q.text for q in chosen[:5])]:
            status, body = measure.http_get(
                f"{base}/{database}/testimonies.json?" + (urllib.parse.urlencode({"_search": query}) if query else "")
            )
            if status == 200:
                checked += 1
                data = json.loads(body)
                timed_out.update(data.get("facets_timed_out") or [])
                missing.update(set(DEFAULT_FACETS) - set(data.get("facet_results") or {}))
    finally:
        measure.stop(server)
    return {
        "requests": requests,
        "warmup": warmup,
        "startup_seconds": round(started_seconds, 2),
        "table_search": measure.percentiles(table_ms),
        "table_plain": measure.percentiles(plain_ms),
        "search_page": measure.percentiles(search_ms),
        "statuses": {str(status): count for status, count in sorted(statuses.items())},
        "facets_timed_out": {"checked": checked, "facets": dict(timed_out)},
        "facets_missing": {"checked": checked, "facets": dict(missing)},
    }


# -- the report ------------------------------------------------------------------------------------


def verdicts(results: dict) -> dict:
    ingest, search = results.get("ingest") or {}, results.get("search") or {}
    datasette, incremental = results.get("datasette") or {}, results.get("incremental") or {}
    measured = {
        "ingest_over_naive_whoosh": (results.get("ratios") or {}).get("ingest_over_naive_whoosh"),
        "query_p50_over_fts5_facets": search.get("p50_over_fts5_snippet_facets"),
        "query_p95_ms": (search.get("archive") or {}).get("p95_ms"),
        "incremental_seconds": incremental.get("seconds"),
        "publish_seconds": (results.get("publish") or {}).get("seconds"),
        "takedown_seconds": (results.get("takedown") or {}).get("seconds"),
        "datasette_table_p95_ms": (datasette.get("table_search") or {}).get("p95_ms"),
        "datasette_plain_p95_ms": (datasette.get("table_plain") or {}).get("p95_ms"),
        "ingest_peak_rss_bytes": ingest.get("peak_tree_rss_bytes"),
    }
    out = {}
    for key, (description, limit) in TARGETS.items():
        value = measured[key]
        judged = key != "ingest_peak_rss_bytes" or results["testimonies"] >= RSS_TARGET_SIZE
        out[key] = {
            "description": description,
            "measured": value,
            "limit": limit,
            "met": (value <= limit) if value is not None and judged else None,
        }
    return out


def _ms(stats: dict | None) -> str:
    if not stats or stats.get("p50_ms") is None:
        return "—"
    return f"{stats['p50_ms']:.1f} / {stats['p95_ms']:.1f} ms"


def _mb(value: int | None) -> str:
    return "—" if value is None else f"{value / 1e6:,.0f} MB"


def _seconds(section: dict | None) -> str:
    if not section or "seconds" not in section:
        return "—"
    return f"{section['seconds']:,.1f} s ({section['testimonies_per_second']:,.0f} testimonies/s)"


def _mark(verdict: dict) -> str:
    return {True: "✅", False: "❌", None: "—"}[verdict["met"]]


def by_kind_table(search: dict) -> list[str]:
    """Query p50 per kind of query, with one example of each kind, so the slow kinds stand out."""
    if not search.get("by_kind"):
        return []
    examples = {}
    for query in search.get("distinct_queries", []):
        examples.setdefault(query["kind"], query["query"])
    lines = [
        "| query kind | example | ours p50 | FTS5+snippet p50 | FTS5+snippet+facets p50 |",
        "|---|---|---:|---:|---:|",
    ]
    for kind, stats in search["by_kind"].items():
        cells = [stats["archive_p50_ms"], stats["fts5_snippet_p50_ms"], stats["fts5_snippet_facets_p50_ms"]]
        shown = " | ".join("—" if cell is None else f"{cell:.1f} ms" for cell in cells)
        lines.append(f"| {kind} | `{examples.get(kind, '')}` | {shown} |")
    return [*lines, ""]


def markdown(results: dict) -> str:
    """The results as one Markdown table, targets beside the measures, and the notes a reader needs."""
    v = verdicts(results)
    ingest, naive, fts5 = results.get("ingest"), results.get("naive_whoosh"), results.get("fts5")
    ratios, search = results.get("ratios") or {}, results.get("search") or {}
    incremental, datasette = results.get("incremental") or {}, results.get("datasette") or {}
    sizes = results.get("sizes") or {}

    def ratio(value):
        return "—" if value is None else f"{value:.2f}x"

    rows = [
        ("`testimony ingest` (end to end, real process)", _seconds(ingest), "", ""),
        (f"naive Whoosh writer ({', '.join(peers.NAIVE_FIELDS)}; one commit)", _seconds(naive), "", ""),
        ("SQLite FTS5 (sqlite-utils insert + enable_fts)", _seconds(fts5), "", ""),
        ("ingest / naive Whoosh", ratio(ratios.get("ingest_over_naive_whoosh")), "≤ 0.8x",
         _mark(v["ingest_over_naive_whoosh"])),
        ("ingest / FTS5", ratio(ratios.get("ingest_over_fts5")), "", ""),
        ("incremental ingest of one 20-testimony file",
         f"{incremental['seconds']:.2f} s" if "seconds" in incremental else "—", "≤ 2 s",
         _mark(v["incremental_seconds"])),
        ("query p50 / p95: `Archive.search` (top 20, highlights, facets)", _ms(search.get("archive")),
         "p95 ≤ 150 ms", _mark(v["query_p95_ms"])),
        ("query p50 / p95: FTS5 + snippet()", _ms(search.get("fts5_snippet")), "", ""),
        ("query p50 / p95: FTS5 + snippet() + facets (GROUP BY)", _ms(search.get("fts5_snippet_facets")), "", ""),
        ("query p50: ours / FTS5+snippet", ratio(search.get("p50_over_fts5_snippet")), "", ""),
        ("query p50: ours / FTS5+snippet+facets", ratio(search.get("p50_over_fts5_snippet_facets")), "≤ 1x",
         _mark(v["query_p50_over_fts5_facets"])),
        ("`testimony publish` (public archive for Datasette)",
         f"{results['publish']['seconds']:,.1f} s" if "publish" in results else "—", "≤ 192 s",
         _mark(v["publish_seconds"])),
        ("`testimony takedown` of one testimony (archive and its published copy)",
         f"{results['takedown']['seconds']:,.1f} s" if "takedown" in results else "—", "≤ 60 s",
         _mark(v["takedown_seconds"])),
        ("Datasette table `?_search=` + default facets, p50 / p95", _ms(datasette.get("table_search")),
         "p95 ≤ 300 ms", _mark(v["datasette_table_p95_ms"])),
        ("Datasette table, no filter, default facets, p50 / p95", _ms(datasette.get("table_plain")),
         "p95 ≤ 300 ms", _mark(v["datasette_plain_p95_ms"])),
        ("Datasette `/-/search?q=`, p50 / p95", _ms(datasette.get("search_page")), "", ""),
        ("peak RSS of `testimony ingest` (process / with its workers)",
         f"{_mb((ingest or {}).get('peak_rss_bytes'))} / {_mb((ingest or {}).get('peak_tree_rss_bytes'))}",
         "≤ 1 GB at 1,000,000",
         _mark(v["ingest_peak_rss_bytes"])),
        ("on disk: SQLite / Whoosh index (archive)",
         f"{_mb(sizes.get('archive_db_bytes'))} / {_mb(sizes.get('archive_index_bytes'))}", "", ""),
        ("on disk: naive Whoosh index / FTS5 database",
         f"{_mb(sizes.get('naive_index_bytes'))} / {_mb(sizes.get('fts5_db_bytes'))}", "", ""),
    ]  # fmt: skip
    machine = results["machine"]
    lines = [
        f"## Benchmark: {results['testimonies']:,} testimonies (seed {results['seed']})",
        "",
        f"{machine['cpu_model'] or 'unknown CPU'}, {machine['cpus_usable']} CPUs, "
        f"{machine['memory_bytes'] / 2**30:.0f} GiB; Python {machine['python']}, Whoosh {machine['whoosh']}, "
        f"SQLite {machine['sqlite']}; {machine['date']}",
        "",
        "| measure | value | target | met |",
        "|---|---:|---|:-:|",
        *(f"| {name} | {value} | {target} | {met} |" for name, value, target, met in rows),
        "",
        *by_kind_table(search),
    ]
    if datasette.get("skipped"):
        lines.append("Datasette: skipped (--skip-datasette).")
    elif datasette.get("facets_timed_out", {}).get("facets"):
        timed_out = datasette["facets_timed_out"]
        lines.append(
            f"Datasette facets that ran out of time (facet_time_limit_ms) in {timed_out['checked']} checked "
            f"requests: {', '.join(f'{name} ({count})' for name, count in timed_out['facets'].items())}."
        )
    if datasette.get("facets_missing", {}).get("facets"):
        missing = datasette["facets_missing"]
        lines.append(
            f"**Default facets missing from the table page** in {missing['checked']} checked requests: "
            f"{', '.join(f'{name} ({count})' for name, count in missing['facets'].items())}."
        )
    if incremental.get("index_repaired"):
        lines.append(
            f"**The incremental ingest re-indexed {incremental['index_repaired']:,} documents first** (the index "
            "was built by another version of the code, or lagged SQLite): its time is not an incremental one."
        )
    if results["testimonies"] != TARGET_SIZE:
        lines.append(
            f"Targets are set for {TARGET_SIZE:,} testimonies (peak RSS for {RSS_TARGET_SIZE:,}); "
            f"at {results['testimonies']:,} the verdicts are indicative only."
        )
    for name, error in (results.get("errors") or {}).items():
        lines.append(f"**{name} failed**: {error}")
    if search.get("errors"):
        lines.append(f"{len(search['errors'])} queries were refused by the archive: {search['errors'][:3]}")
    return "\n".join(lines).rstrip() + "\n"


# -- the whole run ---------------------------------------------------------------------------------


def run_benchmark(
    testimonies: int,
    seed: int = 1,
    work: Path = DEFAULT_WORK,
    query_count: int = 200,
    warmup: int = 20,
    requests: int = 50,
    skip_datasette: bool = False,
    skip_naive: bool = False,
    skip_takedown: bool = False,
) -> dict:
    """Every measurement on one corpus; a step that fails is recorded under `errors` and the rest go on."""
    label = generate.size_label(testimonies)
    work = Path(work).absolute()
    corpus = work / label
    results: dict = {"size": label, "testimonies": testimonies, "seed": seed, "machine": measure.machine()}
    log(f"corpus: {corpus}")
    results["corpus"] = generate.ensure_corpus(corpus, testimonies, seed) | {"path": str(corpus)}
    # Read every file once, so that whichever step goes first finds the corpus in the page cache too.
    results["corpus"]["bytes_on_disk"] = measure.folder_bytes(corpus)
    for path in corpus.rglob("*.yaml"):
        path.read_bytes()
    stores = fresh_run_folder(work / f"{label}.run")
    archive_db = stores / "archive.db"
    fts_db = stores / "fts5.db"
    public_db = stores / "public.db"
    results["stores"] = str(stores)
    errors: dict[str, str] = {}
    results["errors"] = errors

    log("ingest: testimony ingest ...")
    results["ingest"] = measure_ingest(corpus, archive_db, testimonies)
    log(f"  {results['ingest']['seconds']:.1f} s")
    for name, kind, target in (("naive_whoosh", "whoosh", stores / "naive.whoosh"), ("fts5", "fts5", fts_db)):
        if kind == "whoosh" and skip_naive:
            continue
        log(f"peer: {kind} ...")
        try:
            results[name] = measure_peer(kind, corpus, target, testimonies) | (
                {"fields": list(peers.NAIVE_FIELDS)}
                if kind == "whoosh"
                else {"columns": peers.FTS_COLUMNS, "tokenize": peers.FTS_TOKENIZE}
            )
            log(f"  {results[name]['seconds']:.1f} s")
        except BenchError as error:
            errors[name] = str(error)
    results["ratios"] = {
        "ingest_over_naive_whoosh": _ratio(
            results["ingest"]["seconds"], (results.get("naive_whoosh") or {}).get("seconds")
        ),
        "ingest_over_fts5": _ratio(results["ingest"]["seconds"], (results.get("fts5") or {}).get("seconds")),
    }
    mix = queries.query_mix(query_count, seed)
    if "fts5" in results:
        log(f"search: {query_count} queries ...")
        results["search"] = measure_search(archive_db, fts_db, mix, warmup)
    if skip_datasette:
        results["datasette"] = {"skipped": True}
    else:
        log("publish: testimony publish ...")
        try:
            results["publish"] = measure_publish(archive_db, public_db)
            log(f"datasette: {requests} requests per page ...")
            results["datasette"] = measure_datasette(public_db, stores, mix, requests, min(warmup, 5))
        except BenchError as error:
            errors["datasette"] = str(error)
    # Last, so that search and Datasette ran on exactly the records the peers hold.
    log("incremental ingest ...")
    try:
        results["incremental"] = measure_incremental(archive_db, stores / "incremental", seed, testimonies)
    except BenchError as error:
        errors["incremental"] = str(error)
    if "publish" in results and not skip_takedown:
        log("takedown of one testimony ...")
        try:
            results["takedown"] = measure_takedown(archive_db, mix, seed)
        except BenchError as error:
            errors["takedown"] = str(error)
    results["sizes"] = {
        "corpus_bytes": results["corpus"]["bytes_on_disk"],
        "archive_db_bytes": sum(measure.folder_bytes(Path(f"{archive_db}{suffix}")) for suffix in ("", "-wal")),
        "archive_index_bytes": measure.folder_bytes(Path(f"{archive_db}.whoosh")),
        "naive_index_bytes": measure.folder_bytes(stores / "naive.whoosh"),
        "fts5_db_bytes": measure.folder_bytes(fts_db),
        "public_db_bytes": measure.folder_bytes(public_db),
    }
    results["targets"] = verdicts(results)
    return results


app = typer.Typer(add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None)


@app.command()
def run(
    testimonies: Annotated[int, typer.Option("--testimonies", help="Size of the archive.", min=1)] = 10_000,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the corpus and of the query mix.")] = 1,
    work: Annotated[
        Path, typer.Option("--work", help="Folder for the corpus (reused) and the stores (rebuilt).", file_okay=False)
    ] = DEFAULT_WORK,
    results_dir: Annotated[
        Path, typer.Option("--results", help="Folder for <size>.json.", file_okay=False)
    ] = DEFAULT_RESULTS,
    query_count: Annotated[int, typer.Option("--queries", help="Timed queries per engine.", min=1)] = 200,
    warmup: Annotated[int, typer.Option("--warmup", help="Untimed queries first.", min=0)] = 20,
    requests: Annotated[int, typer.Option("--requests", help="Timed HTTP requests per page.", min=1)] = 50,
    skip_datasette: Annotated[bool, typer.Option("--skip-datasette", help="Do not serve and time Datasette.")] = False,
    skip_naive: Annotated[
        bool, typer.Option("--skip-naive", help="Do not run the naive Whoosh writer (its ratio is a 100k target).")
    ] = False,
    skip_takedown: Annotated[bool, typer.Option("--skip-takedown", help="Do not time a takedown.")] = False,
):
    """Benchmark ingest, search and Datasette against a naive Whoosh writer and SQLite FTS5."""
    try:
        results = run_benchmark(
            testimonies, seed, work, query_count, warmup, requests, skip_datasette, skip_naive, skip_takedown
        )
    except (BenchError, generate.CorpusFolderInUse) as error:
        typer.echo(f"Error: {error}", err=True)
        raise typer.Exit(1) from None
    results_dir.mkdir(parents=True, exist_ok=True)
    destination = results_dir / f"{results['size']}.json"
    destination.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    typer.echo(markdown(results))
    typer.echo(f"Results: {destination}")
    raise typer.Exit(1 if results["errors"] else 0)


if __name__ == "__main__":
    app()
