"""Hostile queries: every search runs under a budget (checked before it runs, and a time limit while it
runs), the server answers many searches at once from a pool of searchers, and what the CLI prints to a
terminal is never raw control sequences."""

import asyncio
import json
import shutil
import sqlite3
import statistics
import time
from pathlib import Path

import pytest
from testimony_archive.ingest import load, privacy, store
from testimony_archive.ingest.cli import app
from testimony_archive.search import api as search_api
from testimony_archive.search.api import Archive, Budget, QueryTooCostly, SearchBusy, SearchTimeout
from testimony_archive.search.serve import make_datasette

from .conftest import DATA, write
from .corpus import write_corpus

# Each refused with the limit it broke, before anything runs.
TOO_COSTLY = {
    "*": "A lone * stands for every word",
    "?": "A lone ? stands for every word",
    "camp *": "A lone * stands for every word",
    "a*": "a*: put at least 3 letters before a wildcard",
    "de*": "de*: put at least 3 letters before a wildcard",
    "d?t*": "d?t*: put at least 3 letters before a wildcard",
    "torure~3": "torure~3: fuzzy matching allows at most 2 edits",
    "a~5": "a~5: fuzzy matching allows at most 2 edits",
    "ab~": "ab~: a fuzzy word needs at least 3 letters",
    " ".join(["camp"] * 33): "The query has 33 words; the limit is 32.",
    '"' + " ".join(["the"] * 13) + '"': "A phrase of 13 words is too long to match; the limit is 12.",
    "(" * 7 + "camp" + ")" * 7: "The query nests parentheses 7 deep; the limit is 6.",
    "x" * 1001: "The query is 1,001 characters long; the limit is 1,000.",
}


@pytest.fixture(scope="module")
def corpus_archive(tmp_path_factory) -> Path:
    """A public archive of 2,000 synthetic testimonies and the sample data."""
    folder = tmp_path_factory.mktemp("budget")
    write_corpus(folder / "sources" / "corpus", files=100, per_file=20)
    shutil.copytree(DATA, folder / "sources" / "data")
    full = folder / "archive.db"
    report = load.ingest_paths(store.open_archive(full), Path(f"{full}.whoosh"), [folder / "sources"])
    assert report.exit_code == 0, report.summary()
    public = folder / "public.db"
    privacy.publish(full, public)
    return public


@pytest.mark.parametrize("query", list(TOO_COSTLY), ids=lambda q: q[:20])
def test_a_query_over_the_budget_is_refused_before_it_runs(sample_archive, query):
    archive = Archive(sample_archive)
    try:
        started = time.monotonic()
        with pytest.raises(QueryTooCostly) as refused:
            archive.search(query)
        assert time.monotonic() - started < 1.0
    finally:
        archive.close()
    assert str(refused.value).startswith(TOO_COSTLY[query])


def test_the_cli_and_the_server_say_the_same_thing(runner, sample_archive, tmp_path):
    result = runner.invoke(app, ["search", "a~5", "--db", str(sample_archive)])
    assert result.exit_code == 2
    assert result.output.strip() == "Error: " + TOO_COSTLY["a~5"] + " (torure~ is one edit, torure~2 two)."
    public = tmp_path / "public.db"
    privacy.publish(sample_archive, public)
    datasette = make_datasette(public)

    async def fetch():
        page = await datasette.client.get("/-/search.json?q=a~5")
        table = await datasette.client.get("/public/testimonies.json?_search=*")
        return page, table

    page, table = asyncio.run(fetch())
    assert page.status_code == 400 and page.json()["error"].startswith(TOO_COSTLY["a~5"])
    assert table.status_code == 200 and table.json()["rows"] == []
    assert "A lone * stands for every word" in json.dumps(table.json())


def test_a_prefix_standing_for_too_many_words_is_refused(sample_archive):
    archive = Archive(sample_archive, budget=Budget(max_expansion=1))
    try:
        with pytest.raises(QueryTooCostly) as refused:
            archive.search("fam*")  # family, families
        assert str(refused.value) == "fam* stands for more than 1 word in the archive: add letters."
        assert archive.search("torture").total >= 1  # no wildcard: nothing to cap
    finally:
        archive.close()


def test_a_fuzzy_word_keeps_its_first_letter(sample_archive):
    archive = Archive(sample_archive)
    try:
        found = archive.search("torure~")  # torture, one edit away
        assert found.total >= 1
        assert archive.search("xorture~").total == 0  # the first letter is never edited
    finally:
        archive.close()


def test_the_time_limit_stops_a_search_and_says_so(corpus_archive):
    archive = Archive(corpus_archive, budget=Budget(time_limit=0.0005))
    try:
        started = time.monotonic()
        with pytest.raises(SearchTimeout) as stopped:
            archive.search("camp OR prison OR police OR letter OR night")
        assert time.monotonic() - started < 2.0  # generous: proves it does not run on
        assert "took longer than its limit of 0.0005 s and was stopped" in str(stopped.value)
        with pytest.raises(SearchTimeout):
            archive.matching_ids("camp OR prison")
    finally:
        archive.close()


def test_the_costliest_allowed_query_finishes_within_three_times_the_budget(corpus_archive):
    """32 three-letter prefixes (the most a query may hold), on 2,000 testimonies: answered or stopped."""
    prefixes = " OR ".join(f"{word[:3]}*" for word in ["camp", "pri", "pol", "let", "nig", "tri", "sen", "vis"] * 4)
    archive = Archive(corpus_archive, budget=Budget(time_limit=1.0))
    try:
        archive.search("camp")  # warm: the searcher's facet table is read once
        started = time.monotonic()
        try:
            archive.search(prefixes)
        except SearchTimeout:
            pass
        assert time.monotonic() - started < 3.0
    finally:
        archive.close()


def test_a_heavy_query_does_not_hold_up_light_ones(corpus_archive):
    """One heavy search and twenty light ones at once, through the server's pool of searchers: the light
    ones are answered at about their normal speed (generous bound), none waits for the heavy one."""
    metadata = {"plugins": {"testimony": {"searchers": 4, "search_time_limit": 5}}}
    datasette = make_datasette(corpus_archive, metadata=_metadata(corpus_archive, metadata))
    heavy = "/-/search.json?q=" + "%20OR%20".join(f"{w}*" for w in ["cam", "pri", "pol", "let", "nig", "tri"] * 5)
    light = "/-/search.json?q=Mamatjan&size=5"

    async def timed(url):
        started = time.monotonic()
        response = await datasette.client.get(url)
        return response.status_code, time.monotonic() - started

    async def scenario():
        await datasette.client.get(light)  # warm every path once
        alone = [(await timed(light))[1] for _ in range(5)]
        heavy_task = asyncio.create_task(timed(heavy))
        await asyncio.sleep(0.05)
        together = await asyncio.gather(*(timed(light) for _ in range(20)))
        return alone, together, await heavy_task

    alone, together, heavy_result = asyncio.run(scenario())
    assert heavy_result[0] in (200, 400)
    assert all(status == 200 for status, _ in together)
    slowest = max(seconds for _, seconds in together)
    assert slowest < max(2.0, 20 * statistics.median(alone)), (alone, together)


def test_a_full_pool_answers_503_with_retry_after(corpus_archive):
    """Every searcher taken (here: held by the test, as a long search would hold it): a new search waits
    `search_wait` seconds, then gets 503 with Retry-After, not a place in an endless queue."""
    from testimony_archive.search import plugin

    metadata = {"plugins": {"testimony": {"searchers": 1, "search_wait": 0.05}}}
    datasette = make_datasette(corpus_archive, metadata=_metadata(corpus_archive, metadata))

    async def scenario():
        first = await datasette.client.get("/-/search.json?q=camp")
        pool = plugin.pool_for(datasette, corpus_archive.stem)
        held = pool._free.get_nowait()
        try:
            busy = await datasette.client.get("/-/search.json?q=camp")
            table = await datasette.client.get(f"/{corpus_archive.stem}/testimonies.json?_search=camp")
        finally:
            pool._free.put(held)
        again = await datasette.client.get("/-/search.json?q=camp")
        return first, busy, table, again

    first, busy, table, again = asyncio.run(scenario())
    assert first.status_code == 200 and again.status_code == 200
    assert busy.status_code == 503 and busy.headers["retry-after"] == "2"
    assert busy.json()["error"] == "every searcher is busy: try again in a moment"
    assert table.status_code == 200 and table.json()["rows"] == []
    assert "search unavailable: every searcher is busy" in json.dumps(table.json())


def test_a_locked_database_is_a_clear_busy_answer(runner, corpus_archive, tmp_path, monkeypatch):
    monkeypatch.setattr(search_api, "READ_WAIT", 0.2)
    monkeypatch.setattr(store, "READ_TIMEOUT", 0.2)
    public = tmp_path / "public.db"
    shutil.copy(corpus_archive, public)
    shutil.copytree(f"{corpus_archive}.whoosh", f"{public}.whoosh")
    writer = sqlite3.connect(public, isolation_level=None)
    writer.execute("pragma locking_mode=exclusive")
    writer.execute("begin exclusive")
    try:
        result = runner.invoke(app, ["search", "camp", "--db", str(public)])
        assert result.exit_code == 1
        assert result.output.strip() == (
            f"Error: the archive at {public} is locked by another process (waited 0.2 s): it is being written, "
            "try again in a moment"
        )
        archive = Archive(public)
        try:
            with pytest.raises(SearchBusy) as busy:
                archive.search("camp")
        finally:
            archive.close()
        assert str(busy.value) == "the archive is being written: try again in a moment"
    finally:
        writer.execute("rollback")
        writer.close()


def hand_edited(runner, tmp_path, speaker: str, words: str, **columns) -> Path:
    """An archive of one testimony, then edited by hand (`columns` of testimonies set as given): what an
    older version, or a hand repair, can leave that ingest would refuse."""
    db = tmp_path / "a.db"
    source = write(
        tmp_path / "s.yml",
        "source: {title: Title, publisher: P, published: 2025}\n"
        f"testimonies:\n  - {{speaker: {speaker}, text: {words}}}\n",
    )
    assert runner.invoke(app, ["ingest", str(source), "--db", str(db)]).exit_code == 0
    with sqlite3.connect(db) as conn:
        conn.execute(f"update testimonies set {', '.join(f'{c} = ?' for c in columns)}", list(columns.values()))
    return db


def test_the_terminal_never_gets_raw_control_sequences(runner, tmp_path):
    """Ingest refuses control characters, but an archive written by an older version (or by hand) can hold
    them: whatever is stored, the CLI shows escape sequences as visible symbols, never raw."""
    text = "Camp words \x1b]52;c;ZXZpbA==\x07 and \u202eesrever\u202c and \x1b[8m hidden."
    db = hand_edited(
        runner,
        tmp_path,
        "Patime*",
        "Camp words and hidden things.",
        text=text,
        source_title="T \x1b[2K\x1b[1A",
        publisher="P \x9b31m",
    )
    result = runner.invoke(app, ["search", "camp", "--db", str(db)])
    assert result.exit_code == 0
    for raw in ("\x1b", "\x07", "\x9b", "\u202e", "\u202c"):
        assert raw not in result.output, repr(raw)
    assert "␛]52;c;ZXZpbA==" in result.output and "␛[8m hidden" in result.output and "T ␛[2K␛[1A" in result.output
    assert "Patime* (pseudonym)" in result.output
    # JSON keeps the exact text, escaped.
    as_json = runner.invoke(app, ["search", "camp", "--db", str(db), "--json"])
    assert "\x1b" not in as_json.output and "\u202e" not in as_json.output
    snippet = json.loads(as_json.output)["hits"][0]["snippet"]
    assert "\u202eesrever" in snippet and "\x1b]52" in snippet


def _metadata(public: Path, extra: dict) -> dict:
    from testimony_archive.search.serve import load_metadata

    metadata = load_metadata(public.stem)
    metadata.setdefault("plugins", {}).setdefault("testimony", {}).update(extra["plugins"]["testimony"])
    return metadata


def test_controls_before_a_match_neither_vanish_nor_shift_the_highlight(runner, tmp_path):
    """rich drops \\r, \\b, \\v and \\f from a Text: made safe first, they show as stand-ins and the bold
    stays on the matched word (a review found `pri[son he]re` in bold)."""
    from testimony_archive.ingest import render

    db = hand_edited(
        runner, tmp_path, "Aziz", "One two three four prison here.", text="one\rtwo\vthree\bfour prison here"
    )
    hit = json.loads(runner.invoke(app, ["search", "prison", "--db", str(db), "--json"]).output)["hits"][0]
    shown = render.snippet_text(hit)
    bold = [shown.plain[span.start : span.end] for span in shown.spans]
    assert bold == ["prison"]
    assert "␍" in shown.plain and "␋" in shown.plain and "␈" in shown.plain
