"""Search that researchers can trust: query forms, accents, name variants, highlights, facets."""

import json
import re
import shutil
from pathlib import Path

import pytest
from testimony_archive.ingest import load, store
from testimony_archive.ingest.cli import app
from testimony_archive.search.api import Archive, SearchError
from testimony_archive.search.names import fold

from .conftest import DATA, FACET_NAMES, fixture, rows


@pytest.fixture(scope="session")
def archive_path(tmp_path_factory) -> Path:
    """The sample data plus the hostile fixture, in one real archive."""
    folder = tmp_path_factory.mktemp("search-sources")
    shutil.copytree(DATA, folder / "data")
    shutil.copy(fixture("sources/hostile.yml"), folder / "hostile.yml")
    path = tmp_path_factory.mktemp("search") / "archive.db"
    report = load.ingest_paths(store.open_archive(path), Path(f"{path}.whoosh"), [folder])
    assert report.exit_code == 0, report.summary()
    return path


@pytest.fixture(scope="session")
def archive(archive_path):
    opened = Archive(archive_path)
    yield opened
    opened.close()


def speakers(result):
    return sorted(hit["speaker_display"] for hit in result.hits)


def rows_of(archive_path):
    found = rows(
        archive_path,
        # The speaker's name as written (the browse column prints a pseudonym with its star).
        """select t.*, (select name from people where id = t.speaker_id) as speaker_name,
        group_concat(p.name, '|') as subject_names from testimonies t
        left join testimony_subjects s on s.testimony_id = t.id left join people p on p.id = s.person_id
        group by t.id""",
    )
    return [dict(row, speaker=row["speaker_name"]) for row in found]


def has_word(value, word):
    return bool(value) and re.search(rf"(?<!\w){re.escape(fold(word))}(?!\w)", fold(value)) is not None


def anywhere(row, word):
    """The oracle for a plain word: text, speaker, subjects, title or tags hold it as a whole word."""
    return any(has_word(row[f], word) for f in ("text", "speaker", "subject_names", "source_title", "tags"))


# Each query form beside an independent oracle: a predicate over the SQLite rows.
QUERY_FORMS = {
    "prison": lambda r: anywhere(r, "prison"),
    "prison AND camp": lambda r: anywhere(r, "prison") and anywhere(r, "camp"),
    "prison OR camp": lambda r: anywhere(r, "prison") or anywhere(r, "camp"),
    "camp NOT prison": lambda r: anywhere(r, "camp") and not anywhere(r, "prison"),
    '"still in prison"': lambda r: "still in prison" in r["text"].lower(),
    "text:detain*": lambda r: re.search(r"\bdetain", r["text"], re.I) is not None,
    "tag:detention": lambda r: "detention" in r["tags"].lower().split('"'),
    'tag:"torture and other ill-treatment"': lambda r: "torture and other ill-treatment" in r["tags"].lower(),
    "role:witness": lambda r: r["role"] == "witness",
    "status:died_in_detention": lambda r: "died_in_detention" in r["statuses"],
    "relationship:uncle": lambda r: "uncle" in r["relationships"],
    "language:fr": lambda r: r["language"] == "fr",
    "pseudonym:yes": lambda r: r["speaker_is_pseudonym"] == 1,
    "published:2025": lambda r: r["published"].startswith("2025"),
    "published:2025-03": lambda r: r["published"].startswith("2025-03"),
    "date:[2019 TO 2021]": lambda r: "2019" <= (r["date"] or r["published"])[:4] <= "2021",
    "date:[2025-08 TO 2025-09]": lambda r: "2025-08" <= (r["date"] or r["published"])[:7] <= "2025-09",
    "year:2024": lambda r: r["year"] == 2024,
    'publisher:"Meridian Rights Collective"': lambda r: r["publisher"] == "Meridian Rights Collective",
    "speaker:Patime": lambda r: r["speaker"] == "Patime",
    "subject:Ablikim": lambda r: has_word(r["subject_names"], "Ablikim"),
    "title:hearing": lambda r: has_word(r["source_title"], "hearing"),
    "role:family AND status:imprisoned": lambda r: r["role"] == "family" and "imprisoned" in r["statuses"],
}


@pytest.mark.parametrize("query", QUERY_FORMS)
def test_each_query_form(archive, archive_path, query):
    expected = {r["id"] for r in rows_of(archive_path) if QUERY_FORMS[query](r)}
    assert expected, f"the oracle finds nothing for {query}: a test that cannot fail"
    result = archive.search(query, page_size=100)
    assert {hit["id"] for hit in result.hits} == expected
    assert result.total == len(expected)


def test_fuzzy_finds_a_misspelling(archive, archive_path):
    expected = {r["id"] for r in rows_of(archive_path) if re.search(r"\btortured?\b", r["text"], re.I)}
    assert {hit["id"] for hit in archive.search("text:torure~", page_size=100).hits} == expected


def test_stemming_follows_the_records_language(archive, archive_path):
    # "detain" alone is in no text; the English stemmer meets "detained" in English texts.
    expected = {r["id"] for r in rows_of(archive_path) if r["language"] == "en" and has_word(r["text"], "detained")}
    assert expected and expected <= {hit["id"] for hit in archive.search("text:detain OR detain", page_size=100).hits}
    # French: the text says "arrêté"; the French stemmer and folding find it from "arrete".
    french = archive.search("language:fr arrete")
    assert [hit["language"] for hit in french.hits] == ["fr"]


def test_cjk_text_is_searchable_by_bigrams(archive):
    result = archive.search("关押")
    assert [hit["language"] for hit in result.hits] == ["zh"]
    assert "<mark>关押</mark>" in result.hits[0]["snippet"]


def test_arabic_script_text_is_searchable(archive):
    result = archive.search("language:ug")
    assert result.total == 1
    with archive.reading() as conn:
        word = store.testimonies(conn, [result.hits[0]["id"]])[result.hits[0]["id"]].text.split()[0]
    assert archive.search(word).total >= 1


@pytest.mark.parametrize(
    "query, stored",
    [("Oguz", "Oğuz Yıldırım"), ("Oğuz", "Oguz Yildirim"), ("Yildirim", "Oğuz Yıldırım"), ("Şükür", "Kamil Sukur")],
)
def test_accents_fold_both_ways(archive, query, stored):
    assert stored in speakers(archive.search(query))


def test_a_name_finds_testimonies_by_and_about_the_person(archive):
    result = archive.search("Tursun")
    fields = {(m["name"], m["field"]) for hit in result.hits for m in hit["matched_names"]}
    assert ("Aygul Tursun", "speaker") in fields
    assert ("Mamatjan Tursun", "subject") in fields


@pytest.mark.parametrize("query", ["Memetjan", "Mamatjan", "Mämätjan", "Маматжан", "Maimaitijiang"])
def test_variants_match_across_spellings_and_scripts_with_the_reason(archive, query):
    result = archive.search(f"{query} Tursun")
    explained = {m["name"]: m["rule"] for hit in result.hits for m in hit["matched_names"] if m["query"] == query}
    assert set(explained) == {"Mamatjan Tursun", "Memetjan Tursun"}
    assert all(rule in {"exact", "accents", "transliteration", "spelling"} for rule in explained.values())
    if query == "Memetjan":
        assert explained == {"Memetjan Tursun": "exact", "Mamatjan Tursun": "spelling"}


def test_exact_names_switches_variants_off(archive):
    result = archive.search("Memetjan Tursun", exact_names=True)
    assert [m["name"] for hit in result.hits for m in hit["matched_names"] if m["query"] == "Memetjan"] == [
        "Memetjan Tursun"
    ]


def test_a_pseudonym_never_matches_as_a_variant(archive):
    # Mamatjan* is a pseudonym; Memetjan Niyaz is a real person whose name is a spelling variant of it.
    by_variant = archive.search("Memetjan")
    assert "Mamatjan*" not in speakers(by_variant)
    assert "Memetjan Niyaz" in speakers(by_variant)
    # Typed as written, the pseudonym is found, and shown as one.
    as_written = archive.search("speaker:Mamatjan")
    assert "Mamatjan*" in speakers(as_written)
    hit = next(h for h in as_written.hits if h["speaker_display"] == "Mamatjan*")
    assert hit["speaker_is_pseudonym"] is True
    assert [m for m in hit["matched_names"] if m["field"] == "speaker"] == [
        {"query": "Mamatjan", "name": "Mamatjan*", "matched_word": "Mamatjan", "field": "speaker", "rule": "exact"}
    ]


def test_facets_count_every_match_not_just_the_page(archive):
    result = archive.search("prison OR camp", page_size=1)
    assert len(result.hits) == 1 and result.total > 5
    assert sum(result.facets["language"].values()) == result.total
    assert sum(result.facets["pseudonym"].values()) == result.total
    assert sum(result.facets["role"].values()) == result.total
    assert set(result.facets) == FACET_NAMES


def test_filters_narrow_hits_and_facets(archive):
    result = archive.search("prison OR camp", filters={"role": ["family"], "pseudonym": ["yes"]})
    assert result.total == sum(result.facets["role"].values()) == result.facets["role"]["family"]
    assert set(result.facets["pseudonym"]) == {"yes"}
    assert archive.search("", filters={"tags": ["DETENTION"]}).total == archive.search("tag:detention").total


def test_pages_and_sort_by_date(archive):
    first = archive.search("detention OR prison OR camp", page_size=5, sort="date")
    second = archive.search("detention OR prison OR camp", page_size=5, page=2, sort="date")
    dates = [h["date"] or h["published"] for h in first.hits + second.hits]
    assert dates == sorted(dates, reverse=True)
    assert not {h["id"] for h in first.hits} & {h["id"] for h in second.hits}


def test_hostile_text_comes_out_inert(archive):
    result = archive.search("guards")
    snippet = result.hits[0]["snippet"]
    assert "<script>" not in snippet and "<b>" not in snippet
    assert "&lt;script&gt;alert('xss')&lt;/script&gt;" in snippet
    assert "<mark>guards</mark>" in snippet
    assert result.hits[0]["speaker"] == "<img src=x onerror=alert(1)>"  # data stays data; renderers escape


@pytest.mark.parametrize(
    "query, message",
    [
        ("*tain", "Leading wildcards (*tain) are not supported"),
        ("speaker:?atime", "Leading wildcards (?atime) are not supported"),
        ('"still in', "Unclosed quotation mark"),
        ("(prison OR camp", "a '(' is never closed"),
        ("prison)", "a ')' has no matching '('"),
        ("colour:red", "Unknown field 'colour'"),
        ("date:notadate", "Could not understand the query"),
    ],
)
def test_bad_queries_are_clear_errors(archive, query, message):
    with pytest.raises(
        SearchError, match=message.replace("(", r"\(").replace(")", r"\)").replace("?", r"\?").replace("*", r"\*")
    ):
        archive.search(query)


def test_cli_json_has_the_documented_shape(runner, archive_path):
    result = runner.invoke(app, ["search", "Memetjan", "--db", str(archive_path), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert {"query", "total", "hits", "facets"} <= set(data)
    assert data["query"] == "Memetjan" and data["total"] == len(data["hits"]) == 3
    for hit in data["hits"]:
        assert {
            "id",
            "speaker",
            "speaker_is_pseudonym",
            "snippet",
            "source_title",
            "publisher",
            "published",
            "score",
            "matched_names",
        } <= set(hit)
    assert data["facets"]["role"] == {"family": 2, "survivor": 1}


def test_cli_shows_pseudonyms_and_marks(runner, archive_path):
    result = runner.invoke(app, ["search", "Patime", "--db", str(archive_path)])
    assert result.exit_code == 0, result.output
    assert "1. Patime* (pseudonym) [family]" in result.output
    assert "name: Patime matched Patime* (speaker, exact)" in result.output


def test_cli_prints_markup_as_text(runner, archive_path):
    result = runner.invoke(app, ["search", "guards", "--db", str(archive_path)])
    assert result.exit_code == 0, result.output
    assert "<script>alert('xss')</script>" in result.output  # plain text on a terminal, not interpreted
    assert "[bold]" not in result.output


def test_cli_no_results_says_so(runner, archive_path):
    result = runner.invoke(app, ["search", "zeppelin", "--db", str(archive_path)])
    assert result.exit_code == 0
    assert "No testimonies match 'zeppelin'." in result.output


def test_cli_query_errors_are_one_line(runner, archive_path):
    result = runner.invoke(app, ["search", "*tain", "--db", str(archive_path)])
    assert result.exit_code == 2
    assert result.output.startswith("Error: Leading wildcards (*tain) are not supported")
    assert "Traceback" not in result.output
    result = runner.invoke(app, ["search", "x", "--db", str(archive_path), "--filter", "nonsense"])
    assert result.exit_code == 2


def test_tags_fold_accents_both_ways(archive, archive_path):
    expected = {r["id"] for r in rows_of(archive_path) if "Türkiye" in r["tags"]}
    assert expected
    for query in ("tag:Türkiye", "tag:turkiye", "tag:TÜRKIYE"):
        assert {h["id"] for h in archive.search(query, page_size=100).hits} == expected, query
    assert expected <= {h["id"] for h in archive.search("Turkiye", page_size=100).hits}


def test_variant_keys_come_from_the_name_as_typed(archive):
    # Şükür folds to "sukur" but its variant key is "shukur", as Shukur's is: the key is taken from
    # what was typed, not from the folded word.
    by_spelling = archive.search("Shukur")
    assert {(m["name"], m["rule"]) for h in by_spelling.hits for m in h["matched_names"]} >= {
        ("Kamil Şükür", "transliteration")
    }
    typed = archive.search("Şükür")
    assert {"Kamil Şükür", "Kamil Sukur", "Dilshat Shukur"} <= set(speakers(typed))


def test_a_page_past_the_end_is_the_last_page(archive):
    last = archive.search("prison OR camp", page_size=5, page=99)
    assert last.page == last.pages > 1 and last.hits
    assert archive.search("zeppelin", page=7).page == 1


def test_range_keyword_is_case_insensitive(archive):
    assert archive.search("date:[2024 to 2025]").total == archive.search("date:[2024 TO 2025]").total > 0


def test_snippet_spans_point_at_the_matched_words_and_the_text_stays_verbatim():
    from testimony_archive.search.snippets import snippet

    text = "They said … … nothing. " + "Filler words here. " * 30 + "The <b>guards</b> came at night … … and left."
    found = snippet(text, {"text": {"guards", "said"}}, None)
    assert [found.text[s:e] for s, e in found.marks] == ["said", "guards"]
    # The testimony's own " … … " is kept; the only ellipses added are where the text was cut.
    assert "said … … nothing" in found.text and "night … … and" in found.text
    assert found.html().count("<mark>") == 2 and "&lt;b&gt;<mark>guards</mark>&lt;/b&gt;" in found.html()
    assert "<b>" not in found.html()


def test_cli_marks_come_from_the_spans(runner, archive_path):
    result = runner.invoke(app, ["search", "prison", "--db", str(archive_path), "--json"])
    for hit in json.loads(result.output)["hits"]:
        marked = [hit["snippet_text"][s:e] for s, e in hit["marks"]]
        assert marked and all(fold(word).startswith("prison") for word in marked)
        assert hit["snippet"].count("<mark>") == len(marked)


def test_year_ranges_of_every_kind_match_the_database(archive, archive_path):
    """Whoosh 2.7.5 answers a numeric range open at one end (`year:[TO 2019]`), or reaching down to 0, with
    every testimony of the archive; search.api closes them first (`_year_ranges`)."""
    found = rows_of(archive_path)
    years = sorted({r["year"] for r in found if r["year"]})
    assert len(years) >= 3
    probes = sorted({0, 1, years[0] - 1, years[0], years[len(years) // 2], years[-1], years[-1] + 1, 9999})
    forms = {"[": 0, "{": 1}, {"]": 0, "}": 1}
    partial = 0
    for start in [None, *probes]:
        for end in [None, *probes]:
            if start is not None and end is not None and start > end:
                continue
            for opening, start_excl in forms[0].items():
                for closing, end_excl in forms[1].items():
                    low = -1 if start is None else start + start_excl
                    high = 10_000 if end is None else end - end_excl
                    expected = {r["id"] for r in found if r["year"] is not None and low <= r["year"] <= high}
                    if start is None and end is None:
                        continue  # not a range
                    inside = f"{'' if start is None else start} TO {'' if end is None else end}".strip()
                    query = f"year:{opening}{inside}{closing}"
                    result = archive.search(query, page_size=100)
                    assert result.total == len(expected), query
                    assert {hit["id"] for hit in result.hits} == expected, query
                    partial += 0 < len(expected) < len(found)
    assert partial > 20  # positive control: many ranges hold some testimonies and not others
