"""Citations (search/citations.py): the star survives, partial dates stay partial, hostile text stays in its field.

Each file is read back by a small parser of its own format, written here the way the format's readers work:
BibTeX counts every brace (a backslash protects none), RIS is one `TAG  - value` line each, CSL-JSON is JSON.
"""

import json
import re

import pytest
from testimony_archive.ingest import store
from testimony_archive.search import citations
from testimony_archive.search.citations import FORMATS, Reference, styles

ARCHIVE_URL = "https://archive.example.org/archive/testimonies/"

# Every way a value could try to leave its field, and what is left of it once control characters are gone:
# line breaks (CR LF, U+2028, NEL, VT, FF, RS) become one space; NUL, DEL, a C1 control and bidi overrides go.
HOSTILE = "Pati\u202eme\x00\r\n@misc{x,\nER  - }%\\</script>\u2028\x85\x0b\x0c\x1e&$#_^~\x7f\x9b\u2066end"
HOSTILE_CLEAN = "Patime @misc{x, ER  - }%\\</script> &$#_^~end"


# -- readers, for the round trips ---------------------------------------------------------------------------

TEX_ESCAPES = {
    r"\textbackslash{}": "\\",
    r"\textbraceleft{}": "{",
    r"\textbraceright{}": "}",
    r"\textasciicircum{}": "^",
    r"\textasciitilde{}": "~",
    **{"\\" + char: char for char in "%&$#_"},
}
TEX_ESCAPE = re.compile("|".join(re.escape(escape) for escape in TEX_ESCAPES))
TEX_ESCAPE_OR_BRACE = re.compile(f"{TEX_ESCAPE.pattern}|[{{}}]")


def parse_bibtex(text: str) -> list[tuple[str, str, dict]]:
    """(type, key, fields) for each entry, reading as BibTeX does: an entry starts at any `@` outside one, a
    braced value ends at the brace that balances its first, escaped or not. Macros are kept as ("macro", name).
    Anything between entries but whitespace, or an entry that does not parse, fails the test."""
    entries, pos = [], 0
    while (at := text.find("@", pos)) != -1:
        assert text[pos:at].strip() == "", text[pos:at]
        head = re.compile(r"@(\w+)\{([^,\s{}]+),").match(text, at)
        assert head, text[at : at + 80]
        pos, fields = head.end(), {}
        while field := re.compile(r"\s*(\w+) = ").match(text, pos):
            pos = field.end()
            if text[pos] == "{":
                depth, end = 0, pos
                for end in range(pos, len(text)):
                    depth += {"{": 1, "}": -1}.get(text[end], 0)
                    if depth == 0:
                        break
                value, pos = text[pos + 1 : end], end + 1
            else:
                macro = re.compile(r"[a-z]+").match(text, pos)
                value, pos = ("macro", macro.group()), macro.end()
            assert field.group(1) not in fields
            fields[field.group(1)] = value
            comma = re.compile(r",").match(text, pos)
            assert comma, text[pos : pos + 80]
            pos = comma.end()
        close = re.compile(r"\s*\}").match(text, pos)
        assert close, text[pos : pos + 80]
        pos = close.end()
        entries.append((head.group(1), head.group(2), fields))
    assert text[pos:].strip() == ""
    return entries


def untex(value: str) -> str:
    """A BibTeX value as typeset: escapes undone, protecting braces dropped. Fails on any unescaped special."""
    bare = TEX_ESCAPE.sub("", value)
    assert not set(bare) & set("\\%&$#_^~"), value
    return TEX_ESCAPE_OR_BRACE.sub(lambda match: TEX_ESCAPES.get(match.group(), ""), value)


def parse_ris(text: str) -> list[list[tuple[str, str]]]:
    """The records' (tag, value) lines, between TY and ER. Every line must be a tag line ending in CRLF, and
    no reader may find a line break anywhere else (str.splitlines knows them all)."""
    assert text == "" or text.endswith("\r\n")
    lines = text.split("\r\n")[:-1]
    assert text.splitlines() == lines
    records, record = [], None
    for line in lines:
        tag, value = re.fullmatch(r"([A-Z][A-Z0-9])  - (.*)", line).groups()
        if tag == "TY":
            assert record is None
            record = [(tag, value)]
        elif tag == "ER":
            assert value == ""
            records.append(record)
            record = None
        else:
            record.append((tag, value))
    assert record is None
    return records


def parse_csl(text: str) -> list[dict]:
    """The CSL-JSON items, after checking that the text can sit inside a page's <script> unchanged."""
    assert not set(text) & set("<>&\u2028\u2029")
    page = f'<script type="application/json">{text}</script>'
    assert page.lower().count("</script") == 1
    return json.loads(text)


# -- fixtures: the sample archive's real citations ----------------------------------------------------------


@pytest.fixture(scope="module")
def real_citations(sample_archive) -> list[store.Citation]:
    db = store.open_archive(sample_archive, store.READ)
    try:
        ids = [row["id"] for row in db.query("select id from testimonies order by id")]
        return [store.citation(db.conn, testimony_id) for testimony_id in ids]
    finally:
        db.close()


@pytest.fixture(scope="module")
def patime(real_citations) -> store.Citation:
    (citation,) = [citation for citation in real_citations if citation.speaker.name == "Patime"]
    return citation


def reference_of(citation: store.Citation, accessed: str | None = "2026-03-01") -> Reference:
    return Reference.of(citation, ARCHIVE_URL + citation.id, accessed)


def hostile_reference(**changes) -> Reference:
    fields = {
        "testimony_id": "hostile-1",
        "url": ARCHIVE_URL + "hostile-1",
        "speaker": HOSTILE,
        "is_pseudonym": True,
        "source_title": HOSTILE,
        "publisher": HOSTILE,
        "published": "2025-03-01",
        "date": None,
        "source_url": None,
        "accessed": None,
    }
    return Reference(**(fields | changes))


# -- the archive's citation, in every form -------------------------------------------------------------------


def test_plain_style_is_the_stores_citation_text(real_citations):
    assert len(real_citations) > 10
    for citation in real_citations:
        assert styles(reference_of(citation))["Plain"] == citation.text


def test_reference_of_a_citation_gives_the_citation_back(patime):
    reference = reference_of(patime)
    assert reference.citation == patime
    assert reference.speaker_as_published == "Patime*"
    assert reference.url == ARCHIVE_URL + patime.id
    assert reference.accessed == "2026-03-01"


def test_styles_of_a_pseudonym_keep_the_star(patime):
    url = ARCHIVE_URL + patime.id
    title = '"We only want to know they are alive": families of detained Uyghurs speak out'
    assert styles(reference_of(patime)) == {
        "Plain": f"Patime* (pseudonym), quoted in \u201c{title}\u201d, Meridian Rights Collective, 2025-08-28, "
        f"https://example.org/meridian-rights/2025/08/families-speak-out, testimony {patime.id}.",
        "APA": f"Patime* [pseudonym]. (2025, August 28). Testimony given August 2025 [quoted in \u201c{title}\u201d]. "
        f"Meridian Rights Collective. Retrieved March 1, 2026, from {url}",
        "Chicago": f"Patime* [pseudonym]. Testimony given August 2025. Quoted in \u201c{title}.\u201d "
        f"Meridian Rights Collective, August 28, 2025. Accessed March 1, 2026. {url}.",
    }
    assert list(styles(reference_of(patime))) == ["Plain", "APA", "Chicago"]


def test_bibtex_of_a_pseudonym(patime):
    assert FORMATS["bib"].render([reference_of(patime)]) == (
        f"@misc{{testimony-{patime.id},\n"
        "  author = {{Patime*}},\n"
        "  title = {Testimony of {Patime*}},\n"
        '  howpublished = {Quoted in "We only want to know they are alive": families of detained Uyghurs speak out},\n'
        "  publisher = {Meridian Rights Collective},\n"
        "  year = {2025},\n"
        "  month = aug,\n"
        f"  url = {{{ARCHIVE_URL}{patime.id}}},\n"
        "  urldate = {2026-03-01},\n"
        "  note = {Name changed to protect the person (pseudonym). Testimony given 2025-08. "
        "Source: https://example.org/meridian-rights/2025/08/families-speak-out},\n"
        "}\n"
    )


def test_ris_of_a_pseudonym(patime):
    assert parse_ris(FORMATS["ris"].render([reference_of(patime)])) == [
        [
            ("TY", "GEN"),
            ("ID", patime.id),
            ("AU", "Patime*"),
            ("TI", "Testimony of Patime*"),
            ("T2", '"We only want to know they are alive": families of detained Uyghurs speak out'),
            ("PB", "Meridian Rights Collective"),
            ("PY", "2025"),
            ("DA", "2025/08/28/"),
            ("UR", ARCHIVE_URL + patime.id),
            ("Y2", "2026/03/01/"),
            (
                "N1",
                "Name changed to protect the person (pseudonym). Testimony given 2025-08. "
                "Source: https://example.org/meridian-rights/2025/08/families-speak-out",
            ),
        ]
    ]


def test_csl_json_of_a_pseudonym(patime):
    assert parse_csl(FORMATS["csl.json"].render([reference_of(patime)])) == [
        {
            "id": patime.id,
            "type": "document",
            "author": [{"literal": "Patime*"}],
            "title": "Testimony of Patime*",
            "container-title": '"We only want to know they are alive": families of detained Uyghurs speak out',
            "publisher": "Meridian Rights Collective",
            "issued": {"date-parts": [[2025, 8, 28]]},
            "URL": ARCHIVE_URL + patime.id,
            "accessed": {"date-parts": [[2026, 3, 1]]},
            "note": "Name changed to protect the person (pseudonym). Testimony given 2025-08. "
            "Source: https://example.org/meridian-rights/2025/08/families-speak-out",
        }
    ]


def test_a_real_name_has_no_pseudonym_note(real_citations):
    (meryem,) = [citation for citation in real_citations if citation.speaker.name == "Meryem Kasim"]
    reference = reference_of(meryem, accessed=None)
    (item,) = parse_csl(citations.csl_json([reference]))
    assert item["author"] == [{"literal": "Meryem Kasim"}]
    assert item["note"] == "Testimony given 2024-05. Source: https://example.org/bosphorus-forum/hearings/2024-istanbul"
    assert "accessed" not in item
    assert styles(reference)["APA"].startswith("Meryem Kasim. (2024). Testimony given May 2024 [quoted in")


# -- hostile text --------------------------------------------------------------------------------------------


def test_hostile_text_stays_in_its_bibtex_field():
    reference = hostile_reference(source_url="https://example.org/a b{}\n@misc{y,", accessed=HOSTILE)
    (entry,) = parse_bibtex(citations.bibtex([reference]))
    kind, key, fields = entry
    assert (kind, key) == ("misc", "testimony-hostile-1")
    assert {name: untex(value) for name, value in fields.items() if name != "month"} == {
        "author": HOSTILE_CLEAN + "*",
        "title": f"Testimony of {HOSTILE_CLEAN}*",
        "howpublished": f"Quoted in {HOSTILE_CLEAN}",
        "publisher": HOSTILE_CLEAN,
        "year": "2025",
        "url": ARCHIVE_URL + "hostile-1",
        "urldate": HOSTILE_CLEAN,
        "note": "Name changed to protect the person (pseudonym). Source: https://example.org/a%20b%7B%7D%20@misc%7By,",
    }
    assert fields["month"] == ("macro", "mar")
    assert fields["author"].startswith("{") and fields["author"].endswith("*}")  # one name, never split


def test_a_hostile_url_cannot_unbalance_bibtex():
    reference = hostile_reference(url="https://archive.example.org/t/}\n@misc{z,\\%")
    ((_, _, fields),) = parse_bibtex(citations.bibtex([reference]))
    assert fields["url"] == "https://archive.example.org/t/%7D%20@misc%7Bz,%5C%"


def test_hostile_text_stays_in_its_ris_tag():
    reference = hostile_reference(date=HOSTILE, source_url="https://example.org/x\r\nER  - ", accessed=HOSTILE)
    records = parse_ris(citations.ris([reference, reference]))
    assert records == 2 * [
        [
            ("TY", "GEN"),
            ("ID", "hostile-1"),
            ("AU", HOSTILE_CLEAN + "*"),
            ("TI", f"Testimony of {HOSTILE_CLEAN}*"),
            ("T2", HOSTILE_CLEAN),
            ("PB", HOSTILE_CLEAN),
            ("PY", "2025"),
            ("DA", "2025/03/01/"),
            ("UR", ARCHIVE_URL + "hostile-1"),
            ("Y2", "///" + HOSTILE_CLEAN),
            (
                "N1",
                f"Name changed to protect the person (pseudonym). Testimony given {HOSTILE_CLEAN}. "
                "Source: https://example.org/x%20ER%20%20-%20",
            ),
        ]
    ]


def test_hostile_text_stays_in_its_csl_json_value():
    reference = hostile_reference(testimony_id=HOSTILE, published=HOSTILE, accessed=HOSTILE)
    text = citations.csl_json([reference])
    assert "\\u003c/script\\u003e" in text
    (item,) = parse_csl(text)
    assert item == {
        "id": HOSTILE_CLEAN,
        "type": "document",
        "author": [{"literal": HOSTILE_CLEAN + "*"}],
        "title": f"Testimony of {HOSTILE_CLEAN}*",
        "container-title": HOSTILE_CLEAN,
        "publisher": HOSTILE_CLEAN,
        "issued": {"literal": HOSTILE_CLEAN},
        "URL": ARCHIVE_URL + "hostile-1",
        "accessed": {"literal": HOSTILE_CLEAN},
        "note": "Name changed to protect the person (pseudonym).",
    }


def test_hostile_text_keeps_each_style_on_one_line():
    reference = hostile_reference(date="2025-02", source_url="https://example.org/x")
    assert styles(reference) == {
        "Plain": f"{HOSTILE_CLEAN}* (pseudonym), quoted in \u201c{HOSTILE_CLEAN}\u201d, {HOSTILE_CLEAN}, 2025-03-01, "
        "https://example.org/x, testimony hostile-1.",
        "APA": f"{HOSTILE_CLEAN}* [pseudonym]. (2025, March 1). Testimony given February 2025 "
        f"[quoted in \u201c{HOSTILE_CLEAN}\u201d]. {HOSTILE_CLEAN}. {ARCHIVE_URL}hostile-1",
        "Chicago": f"{HOSTILE_CLEAN}* [pseudonym]. Testimony given February 2025. Quoted in \u201c{HOSTILE_CLEAN}.\u201d "
        f"{HOSTILE_CLEAN}, March 1, 2025. {ARCHIVE_URL}hostile-1.",
    }


# -- dates ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "published, csl, ris_tags, bib_year, bib_month, apa",
    [
        ("2025", {"date-parts": [[2025]]}, [("PY", "2025"), ("DA", "2025///")], "2025", None, "(2025)"),
        ("2025-03", {"date-parts": [[2025, 3]]}, [("PY", "2025"), ("DA", "2025/03//")], "2025", "mar", "(2025, March)"),
        (
            "2025-03-01",
            {"date-parts": [[2025, 3, 1]]},
            [("PY", "2025"), ("DA", "2025/03/01/")],
            "2025",
            "mar",
            "(2025, March 1)",
        ),
        # Not a date: kept as text, never a year.
        ("2025-02-30", {"literal": "2025-02-30"}, [("DA", "///2025-02-30")], "2025-02-30", None, "(2025-02-30)"),
        ("spring 2025", {"literal": "spring 2025"}, [("DA", "///spring 2025")], "spring 2025", None, "(spring 2025)"),
        ("", None, [], None, None, "(n.d.)"),
    ],
)
def test_partial_dates_stay_partial(published, csl, ris_tags, bib_year, bib_month, apa):
    reference = hostile_reference(speaker="Patime", source_title="T", publisher="P", published=published)
    (item,) = parse_csl(citations.csl_json([reference]))
    assert item.get("issued") == csl
    (record,) = parse_ris(citations.ris([reference]))
    assert [(tag, value) for tag, value in record if tag in ("PY", "DA")] == ris_tags
    ((_, _, fields),) = parse_bibtex(citations.bibtex([reference]))
    assert fields.get("year") == bib_year
    assert fields.get("month") == (("macro", bib_month) if bib_month else None)
    assert f"Patime* [pseudonym]. {apa}. Testimony [quoted in" in styles(reference)["APA"]


def test_missing_date_and_source_url_leave_no_trace():
    reference = hostile_reference(speaker="Aygul Tursun", is_pseudonym=False, source_title="T", publisher="P")
    assert reference.note == ""
    (item,) = parse_csl(citations.csl_json([reference]))
    assert "note" not in item
    (record,) = parse_ris(citations.ris([reference]))
    assert [tag for tag, _ in record] == ["TY", "ID", "AU", "TI", "T2", "PB", "PY", "DA", "UR"]
    ((_, _, fields),) = parse_bibtex(citations.bibtex([reference]))
    assert list(fields) == ["author", "title", "howpublished", "publisher", "year", "month", "url"]
    assert styles(reference)["Plain"] == "Aygul Tursun, quoted in \u201cT\u201d, P, 2025-03-01, testimony hostile-1."


# -- files of several references -----------------------------------------------------------------------------


def test_a_result_page_is_one_file_with_unique_keys(real_citations):
    references = [reference_of(citation) for citation in real_citations]
    # The same testimony twice, and ids that lose their differences on the way to a key.
    references += [references[0], hostile_reference(testimony_id="a b"), hostile_reference(testimony_id="a*b")]
    references += [hostile_reference(testimony_id="ab-2"), hostile_reference(testimony_id="\u202e")]

    entries = parse_bibtex(FORMATS["bib"].render(references))
    keys = [key for _, key, _ in entries]
    assert len(entries) == len(references)
    assert len(set(keys)) == len(keys)
    assert keys[-5:] == [
        f"testimony-{real_citations[0].id}-2",
        "testimony-ab",
        "testimony-ab-2",
        "testimony-ab-2-2",
        "testimony",
    ]
    assert all(re.fullmatch(r"[A-Za-z0-9_:-]+", key) for key in keys)
    assert "\n\n@misc{" in FORMATS["bib"].render(references)

    records = parse_ris(FORMATS["ris"].render(references))
    assert [dict(record)["ID"] for record in records[: len(real_citations)]] == [c.id for c in real_citations]
    assert len(records) == len(references)

    items = parse_csl(FORMATS["csl.json"].render(references))
    assert [item["id"] for item in items[: len(real_citations)]] == [c.id for c in real_citations]
    assert len(items) == len(references)
    assert sum(item["author"][0]["literal"].endswith("*") for item in items[: len(real_citations)]) == sum(
        c.speaker.is_pseudonym for c in real_citations
    )


def test_an_empty_list_is_an_empty_file():
    assert parse_bibtex(FORMATS["bib"].render([])) == []
    assert parse_ris(FORMATS["ris"].render([])) == []
    assert parse_csl(FORMATS["csl.json"].render([])) == []


def test_formats_are_named_by_their_url_suffix():
    assert [(f.suffix, f.label, f.media_type, f.extension) for f in FORMATS.values()] == [
        ("bib", "BibTeX", "application/x-bibtex", "bib"),
        ("ris", "RIS", "application/x-research-info-systems", "ris"),
        ("csl.json", "CSL-JSON", "application/vnd.citationstyles.csl+json", "json"),
    ]
    assert [f.render for f in FORMATS.values()] == [citations.bibtex, citations.ris, citations.csl_json]
