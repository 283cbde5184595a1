"""The benchmark (bench/) runs end to end at a tiny size, and its generator is reproducible and valid.

No timing is asserted anywhere: the numbers are the benchmark's output, not a test's.
"""

import json
import subprocess
import sys
from pathlib import Path

import yaml
from testimony_archive.ingest.cli import app as archive_cli
from typer.testing import CliRunner

from bench import generate

ROOT = Path(__file__).resolve().parent.parent
LATENCY_KEYS = {"count", "p50_ms", "p95_ms", "mean_ms", "max_ms"}


def files_in(folder: Path) -> dict[str, bytes]:
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*.yaml"))}


def generate_corpus(out: Path, testimonies: int, seed: int, *extra: str) -> None:
    result = CliRunner().invoke(
        generate.app, ["--testimonies", str(testimonies), "--seed", str(seed), "--out", str(out), *extra]
    )
    assert result.exit_code == 0, result.output


def counts(summary: dict) -> dict:
    """The counts of an ingest summary that this benchmark relies on (the summary may grow other keys)."""
    return {key: summary[key] for key in ("files", "inserted", "updated", "removed", "failed")}


def assert_latencies(stats: dict, count: int) -> None:
    assert set(stats) == LATENCY_KEYS
    assert stats["count"] == count
    assert 0 < stats["p50_ms"] <= stats["p95_ms"] <= stats["max_ms"]


def test_benchmark_runs_end_to_end_and_reports_every_measure(tmp_path):
    results_dir = tmp_path / "results"
    completed = subprocess.run(
        [sys.executable, "-m", "bench.run", "--testimonies", "60", "--work", str(tmp_path / "work")]
        + ["--results", str(results_dir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert completed.returncode == 0, completed.stderr[-3000:] + completed.stdout[-3000:]
    data = json.loads((results_dir / "60.json").read_text(encoding="utf-8"))

    assert set(data) == {
        "size", "testimonies", "seed", "machine", "corpus", "stores", "errors", "ingest", "naive_whoosh",
        "fts5", "ratios", "search", "publish", "datasette", "incremental", "takedown", "sizes", "targets",
    }  # fmt: skip
    assert (data["size"], data["testimonies"], data["seed"], data["errors"]) == ("60", 60, 1, {})
    assert {"cpu_count", "python", "whoosh", "sqlite", "date"} <= set(data["machine"])
    assert counts(data["ingest"]["summary"]) == {"files": 3, "inserted": 60, "updated": 0, "removed": 0, "failed": 0}
    assert counts(data["incremental"]["summary"]) == {
        "files": 1, "inserted": 20, "updated": 0, "removed": 0, "failed": 0,
    }  # fmt: skip
    assert data["incremental"]["index_repaired"] == 0
    for step in ("ingest", "naive_whoosh", "fts5", "incremental"):
        assert data[step]["seconds"] > 0 and data[step]["peak_rss_bytes"] > 0, step
    assert data["naive_whoosh"]["documents"] == data["fts5"]["documents"] == 60
    assert data["naive_whoosh"]["fields"] == ["id", "text", "speaker", "subject", "title", "tag"]
    assert all(value > 0 for value in data["ratios"].values()) and len(data["ratios"]) == 2

    search = data["search"]
    for engine in ("archive", "fts5_snippet", "fts5_snippet_facets"):
        assert_latencies(search[engine], 200)
    assert search["p50_over_fts5_snippet"] > 0 and search["p50_over_fts5_snippet_facets"] > 0
    assert search["errors"] == []
    assert set(search["by_kind"]) == {"term", "and", "phrase", "name", "field", "date"}
    # Both engines searched the same 60 records: whatever the archive finds, FTS5 must find something too
    # for plain words (the archive also stems, so it may find more, never fewer, for "term" queries).
    for query in search["distinct_queries"]:
        if query["kind"] == "term":
            assert query["archive_total"] >= query["fts5_total"], query

    assert data["publish"]["seconds"] > 0
    datasette = data["datasette"]
    assert_latencies(datasette["table_search"], 50)
    assert_latencies(datasette["table_plain"], 50)
    assert_latencies(datasette["search_page"], 50)
    assert datasette["statuses"] == {"200": 165}  # 50 + 5 warm-up requests per page, all answered
    assert datasette["facets_missing"]["checked"] >= 5 and datasette["facets_missing"]["facets"] == {}

    # The takedown ran last: the archive and its published copy both lost the testimony.
    assert data["takedown"]["seconds"] > 0
    takedown = data["takedown"]["summary"]
    assert takedown["complete"] and len(takedown["testimonies"]) >= 1, takedown
    assert [copy["status"] for copy in takedown["copies"]] == ["done"], takedown
    assert set(data["targets"]) == {
        "ingest_over_naive_whoosh", "query_p50_over_fts5_facets", "query_p95_ms", "incremental_seconds",
        "publish_seconds", "takedown_seconds", "datasette_table_p95_ms", "datasette_plain_p95_ms",
        "ingest_peak_rss_bytes",
    }  # fmt: skip
    assert data["targets"]["ingest_peak_rss_bytes"]["met"] is None  # judged only at 1,000,000

    table = completed.stdout
    assert "| measure | value | target | met |" in table
    for row in ("`testimony ingest`", "naive Whoosh writer", "SQLite FTS5", "incremental ingest", "Archive.search",
                "FTS5 + snippet() + facets", "testimony publish", "testimony takedown", "Datasette table", "/-/search",
                "peak RSS"):  # fmt: skip
        assert row in table, row
    assert f"Results: {results_dir / '60.json'}" in table


def test_same_seed_writes_the_same_files(tmp_path):
    generate_corpus(tmp_path / "a", 250, seed=7)
    generate_corpus(tmp_path / "b", 250, seed=7)
    generate_corpus(tmp_path / "c", 250, seed=8)
    first, again, other = files_in(tmp_path / "a"), files_in(tmp_path / "b"), files_in(tmp_path / "c")
    assert list(first) == [f"0000/source-{number:06d}.yaml" for number in range(13)]
    assert first == again
    assert set(other) == set(first) and all(other[name] != first[name] for name in first)


def test_generated_files_pass_validate(tmp_path):
    generate_corpus(tmp_path / "corpus", 1000, seed=3)
    result = CliRunner().invoke(archive_cli, ["validate", str(tmp_path / "corpus"), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert (counts(summary), summary["unchanged"], summary["errors"]) == (
        {"files": 50, "inserted": 0, "updated": 0, "removed": 0, "failed": 0},
        1000,
        [],
    )


def test_corpus_has_the_shape_of_the_input_format(tmp_path):
    generate_corpus(tmp_path / "corpus", 400, seed=1)
    documents = [yaml.safe_load(text) for text in files_in(tmp_path / "corpus").values()]
    testimonies = [t for document in documents for t in document["testimonies"]]
    assert len(testimonies) == 400 and all(len(document["testimonies"]) == 20 for document in documents)
    speakers = [t["speaker"]["name"] if isinstance(t["speaker"], dict) else t["speaker"] for t in testimonies]
    assert any(name.endswith("*") for name in speakers)  # pseudonyms
    assert {t.get("language", "en") for t in testimonies} >= {"en", "fr", "de", "tr", "ru", "zh"}
    assert {t["role"] for t in testimonies} == set(generate.ROLES)
    tags = {tag for t in testimonies for tag in t.get("tags", [])}
    assert any(tag.isupper() for tag in tags) and any(not tag.isupper() for tag in tags)
    names = {s["name"] for t in testimonies for s in t.get("subjects", []) if s.get("name")}
    assert {"Mamatjan", "Memetjan"} <= {name.split()[0] for name in names}
    english = [t["text"] for t in testimonies if t.get("language", "en") == "en"]
    assert all(40 <= len(text.split()) <= 300 for text in english)


def test_at_most_1000_files_per_folder_and_a_short_last_file(tmp_path):
    generate_corpus(tmp_path / "corpus", 1001, 1, "--per-file", "1")
    assert sorted(folder.name for folder in (tmp_path / "corpus").iterdir() if folder.is_dir()) == ["0000", "0001"]
    assert len(list((tmp_path / "corpus" / "0000").iterdir())) == 1000
    generate_corpus(tmp_path / "short", 45, 1)
    last = yaml.safe_load((tmp_path / "short" / "0000" / "source-000002.yaml").read_text(encoding="utf-8"))
    assert len(last["testimonies"]) == 5


def test_generator_refuses_a_folder_it_did_not_write(tmp_path):
    (tmp_path / "mine.txt").write_text("not a corpus")
    result = CliRunner().invoke(generate.app, ["--testimonies", "20", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert (tmp_path / "mine.txt").read_text() == "not a corpus"
