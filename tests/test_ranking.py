"""Exact ranking: the first hit `search` gives is the true best match, on a seeded synthetic corpus
(bench.generate) and the benchmark's query mix. The true scores are read off each query's matcher one
document at a time, with none of Whoosh's top-N shortcuts; a positive control shows that the shortcut
`search` no longer takes (`limit=20`) does put a lower-scoring hit first on this corpus."""

from pathlib import Path

import pytest
from testimony_archive.ingest import load, store
from testimony_archive.search.api import Archive, SearchError

from bench import generate, queries

SIZE, SEED = 3000, 7


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ranking")
    generate.ensure_corpus(folder / "corpus", SIZE, SEED)
    db_path = folder / "archive.db"
    report = load.ingest_paths(store.open_archive(db_path), Path(f"{db_path}.whoosh"), [folder / "corpus"])
    assert report.exit_code == 0, report.summary()
    archive = Archive(db_path)
    yield archive
    archive.close()


def true_scores(archive: Archive, parsed) -> dict[int, float]:
    """Every matching document's score, read one by one off the query's matcher (no skipping)."""
    searcher = archive.searcher()
    matcher = parsed.matcher(searcher, searcher.context())
    scores = {}
    while matcher.is_active():
        scores[matcher.id()] = matcher.score()
        matcher.next()
    return scores


def test_the_first_hit_is_the_best_match(archive):
    searcher = archive.searcher()
    texts = list(dict.fromkeys(q.text for q in queries.query_mix(400, 1)))
    checked, shortcut_wrong = 0, 0
    for text in texts:
        try:
            parsed = archive.parse(text)
            result = archive.search(text, page_size=20)
        except SearchError:
            continue
        if not result.total:
            continue
        scores = true_scores(archive, parsed)
        assert result.total == len(scores), text
        best = max(scores.values())
        assert result.hits[0]["score"] == pytest.approx(best, abs=1e-4), text
        ranked = [hit["score"] for hit in result.hits]
        assert ranked == sorted(ranked, reverse=True), text
        checked += 1
        shortcut = searcher.search(parsed, limit=20)
        shortcut_wrong += shortcut[0].score < best - 1e-9
    assert checked > 100
    assert shortcut_wrong >= 1  # the positive control: the shortcut really is wrong here


def test_a_phrase_of_one_common_word_stops_at_the_time_limit(archive, monkeypatch):
    """`"the the the the"` walks every document holding "the" inside Whoosh's phrase matcher, where the
    collectors' clock is never read; the archive's phrases read it as they move (search.api._TimedPhrase)."""
    import time

    from testimony_archive.search import api

    limited = Archive(archive.db_path, budget=api.Budget(time_limit=0.005))
    phrase = '"the the the the"'
    ordinary = archive.search('"was detained"', page_size=100)
    assert ordinary.total > 0
    try:
        started = time.monotonic()
        with pytest.raises(api.SearchTimeout):
            limited.search(phrase)
        assert time.monotonic() - started < 1.0
        # The positive control: without the clocked phrase, nothing stops it (it runs to its empty end).
        monkeypatch.setattr(api, "_clocked", lambda q, deadline: q)
        started = time.monotonic()
        assert limited.search(phrase).total == 0
        assert time.monotonic() - started > 0.005
        # ... and a clocked phrase finds what the plain one finds, in the same order.
        plain = archive.search('"was detained"', page_size=100)
        assert (plain.total, [h["id"] for h in plain.hits]) == (ordinary.total, [h["id"] for h in ordinary.hits])
    finally:
        limited.close()
