"""The pages a journalist reads and cites: a testimony, a person, a source, and the archive's home page.

Each is Datasette's own page with the plugin's template in front (a testimony is the testimonies row page,
a person the people row page, a source the sources row page, the home page Datasette's index), so
Datasette's permission checks, the gate and the `.json` form stay as they are, and the raw row view is one
click away (`?_raw=1`, linked from each page). What each page shows is read through the store
(`store.testimony_page`, `person_page`, `source_page`, `overview`) and handed to the template as records
plus the links they need; the templates escape everything (Jinja's autoescape), and a name is printed
through `pseudonym_name` so its marker is never lost.

Permanent addresses: `/-/testimony/<id>`, `/-/person/<id>` and `/-/source/<id>` redirect to the row's page
in the archive being served, whatever its file is called. Citations and exports carry them
(`store.ARCHIVE_PATH`). `/-/testimony/<id>.bib` (`.ris`, `.csl.json`) downloads one testimony's citation.
"""

import urllib.parse

from datasette.utils import tilde_decode
from datasette.utils.asgi import NotFound, Response
from markupsafe import Markup
from testimony_archive.ingest import store
from testimony_archive.ingest.vocabulary import now

from .. import citations
from .cells import ask, pseudonym_name
from .searching import TABLE, archive_database, check_permissions, may_see, not_allowed

PEOPLE, SOURCES = "people", "sources"
KINDS = {"testimony": TABLE, "person": PEOPLE, "source": SOURCES}
FORMAT_SUFFIXES = "|".join(fmt.replace(".", r"\.") for fmt in citations.FORMATS)
PERMALINK_ROUTE = r"^/-/(?P<kind>testimony|person|source)/(?P<id>[^/.]+)$"
CITATION_ROUTE = rf"^/-/testimony/(?P<id>[^/.]+)\.(?P<format>{FORMAT_SUFFIXES})$"
EXCERPT_LENGTH = 240
RAW = "_raw"  # `?_raw=1`: Datasette's own row page, as it is without the plugin's reading page


def excerpt(text: str, length: int = EXCERPT_LENGTH) -> str:
    """The first words of a text, cut at a word's end, with an ellipsis when cut."""
    text = " ".join(text.split())
    if len(text) <= length:
        return text
    cut = text[:length].rsplit(" ", 1)[0] or text[:length]
    return cut.rstrip(",;:.") + "\u2026"


def isolated(value) -> Markup:
    """A value from a file shown inside a sentence: in a <bdi>, so a right-to-left override it holds (the
    schema lets titles, publishers and notes hold one) cannot reverse the words after it."""
    return Markup("<bdi>{}</bdi>").format("" if value is None else value)


def words(value) -> str:
    """A vocabulary value as words: `died_in_detention` is shown as "died in detention"."""
    return "" if value is None else str(value).replace("_", " ")


FILTERS = {"isolated": isolated, "words": words}


def web_link(url: str | None) -> str | None:
    """A source's address as a link only when it is a web address (the schema says so; a hand-edited
    archive may not): never a `javascript:` or `data:` link."""
    return url if url and urllib.parse.urlsplit(url.strip()).scheme.lower() in ("http", "https") else None


def permalink(datasette, request, kind: str, item_id: str) -> str:
    """A row's permanent address, absolute (what a citation carries): on the site address the plugin's
    configuration gives (`plugins: testimony: site_url:`), else on the address the request came to (its
    Host header, which a proxy may not pass on: set site_url when the archive is served behind one)."""
    path = datasette.urls.path(store.ARCHIVE_PATH[kind] + item_id)
    site = web_link((datasette.plugin_config("testimony") or {}).get("site_url"))
    if site:
        return site.rstrip("/") + path
    return datasette.absolute_url(request, path)


class Links:
    """The links a reading page holds, into the archive being served."""

    def __init__(self, datasette, database: str):
        self.datasette, self.database = datasette, database

    def row(self, table: str, key: str) -> str:
        return self.datasette.urls.row(self.database, table, key)

    def person(self, person) -> str | None:
        return self.row(PEOPLE, person.id) if person and person.id else None

    def testimonies(self, **filters) -> str:
        """The testimonies table narrowed by column filters (`tags__arraycontains=...`, `publisher=...`)."""
        url = self.datasette.urls.table(self.database, TABLE)
        return url + ("?" + urllib.parse.urlencode(filters) if filters else "")

    def search(self, **params) -> str:
        return self.datasette.urls.path("/-/search") + ("?" + urllib.parse.urlencode(params) if params else "")


def entries(links: Links, listing: store.Listing) -> dict:
    """A list of testimonies as the templates show it: each with its link, excerpt and speaker's link."""
    return {
        "items": [
            {
                "entry": entry,
                "url": links.row(TABLE, entry.id),
                "speaker": pseudonym_name(entry.speaker.name, entry.speaker.is_pseudonym),
                "speaker_url": links.person(entry.speaker),
                "source_url": links.row(SOURCES, entry.source_id),
                "excerpt": excerpt(entry.text),
            }
            for entry in listing.entries
        ],
        "total": listing.total,
        "more": listing.total - len(listing.entries),
    }


def mention(links: Links, found: store.Mention) -> dict:
    return {
        "mention": found,
        "name": pseudonym_name(found.person.name, found.person.is_pseudonym) if found.person else None,
        "url": links.person(found.person),
    }


def cite(datasette, request, citation: store.Citation) -> citations.Reference:
    accessed = now()[:10]  # the day the reader retrieved it (the archive's clock, UTC)
    return citations.Reference.of(citation, permalink(datasette, request, "testimony", citation.id), accessed)


def testimony_vars(datasette, request, links: Links, page: store.TestimonyPage) -> dict:
    reference = cite(datasette, request, page.citation)
    people = {page.speaker.id: page.speaker} | {m.person.id: m.person for m in page.subjects if m.person}
    return {
        "template": "_testimony.html",
        "title": citations.clean(f"Testimony of {page.speaker.display}"),
        "page": page,
        "speaker": pseudonym_name(page.speaker.name, page.speaker.is_pseudonym),
        "speaker_url": links.person(page.speaker),
        "subjects": [mention(links, m) for m in page.subjects],
        "source_url": links.row(SOURCES, page.source.id),
        "source_link": web_link(page.source.url),
        "tags": [(tag, links.testimonies(tags__arraycontains=tag)) for tag in page.tags],
        "styles": citations.styles(reference),
        "downloads": [
            (fmt.label, datasette.urls.path(f"{store.ARCHIVE_PATH['testimony']}{page.id}.{suffix}"))
            for suffix, fmt in citations.FORMATS.items()
        ],
        "permalink": reference.url,
        "from_source": entries(links, page.from_source),
        "about": [
            {
                "name": pseudonym_name(people[person_id].name, people[person_id].is_pseudonym),
                "url": links.person(people[person_id]),
                "list": entries(links, listing),
            }
            for person_id, listing in page.about.items()
            if listing.total
        ],
    }


def timeline(page: store.PersonPage) -> list[dict]:
    """What the testimonies say happened to a person, oldest first: each status with its date (the `since`
    the testimony gives, else the testimony's own date, shown as such) and the testimony that says so."""
    events = [
        {
            "when": e.mention.since or e.date or e.published,
            "since": e.mention.since,  # None: the testimony gives no date for it, only its own date
            "status": e.mention.status,
            "entry": e,
        }
        for e in page.about.entries
        if e.mention and e.mention.status
    ]
    return sorted(events, key=lambda event: (event["when"] or "", event["entry"].id))


def person_vars(datasette, request, links: Links, page: store.PersonPage) -> dict:
    return {
        "template": "_person.html",
        "title": citations.clean(page.person.display),
        "page": page,
        "name": pseudonym_name(page.person.name, page.person.is_pseudonym),
        "given": entries(links, page.given),
        "about": entries(links, page.about),
        "timeline": [
            dict(
                event,
                url=links.row(TABLE, event["entry"].id),
                speaker=pseudonym_name(event["entry"].speaker.name, event["entry"].speaker.is_pseudonym),
            )
            for event in timeline(page)
        ],
        "spellings": [(spelling.name, links.person(spelling)) for spelling in page.spellings],
        # A pseudonym is one person within its source only: a search for the name would find others.
        "search_url": None if page.person.is_pseudonym else links.search(q=page.person.name),
        "permalink": permalink(datasette, request, "person", page.person.id),
    }


def source_vars(datasette, request, links: Links, page: store.SourcePage) -> dict:
    return {
        "template": "_source.html",
        "title": citations.clean(page.source.title),
        "page": page,
        "tags": [(tag, links.testimonies(tags__arraycontains=tag)) for tag in page.source.tags],
        "publisher_url": links.testimonies(publisher=page.source.publisher),
        "source_link": web_link(page.source.url),
        "testimonies": entries(links, page.testimonies),
        "all_url": links.testimonies(source_id=page.source.id, _sort="position"),
        "permalink": permalink(datasette, request, "source", page.source.id),
    }


READERS = {
    TABLE: (store.testimony_page, testimony_vars),
    PEOPLE: (store.person_page, person_vars),
    SOURCES: (store.source_page, source_vars),
}


def row_vars(datasette, database, table, request):
    """The readable page of a testimony, person or source row (`reading` in the template), else nothing."""
    if table not in READERS or request is None or not request.url_vars.get("pks") or request.args.get(RAW):
        return {}
    read, shape = READERS[table]

    async def inner():
        if await ask(datasette, database, store.kind) is None:  # a database that is no archive
            return {}
        # Every reading page shows testimonies (a person's, a source's): only to whoever may see that table.
        if not await may_see(datasette, request, database):
            return {}
        found = await ask(datasette, database, read, tilde_decode(request.url_vars["pks"]))
        if found is None:
            return {}
        found_vars = shape(datasette, request, Links(datasette, database), found)
        raw = request.path + "?" + urllib.parse.urlencode({RAW: 1})
        return {"reading": dict(found_vars, raw_url=raw, json_url=request.path + ".json")}

    return inner


def index_vars(datasette, request):
    """The home page: what the archive holds, its latest sources, the search box."""

    async def inner():
        database, _ = archive_database(datasette)
        if database is None or request is None or await ask(datasette, database, store.kind) is None:
            return {}
        # The home page is shown to everyone Datasette lets in: the counts only to who may see the testimonies
        # (a locked full archive has already refused a visitor at the gate).
        if not await may_see(datasette, request, database):
            return {}
        summary = await ask(datasette, database, store.overview)
        links = Links(datasette, database)
        return {
            "archive": {
                "summary": summary,
                "by_publisher": [(name, n, links.testimonies(publisher=name)) for name, n in summary.by_publisher],
                "by_year": [(year, n, links.testimonies(year=year)) for year, n in summary.by_year],
                "by_status": [
                    (status, n, links.testimonies(statuses__arraycontains=status)) for status, n in summary.by_status
                ],
                "latest": [(source, links.row(SOURCES, source.id)) for source in summary.latest],
                "table_url": links.testimonies(),
                "pseudonyms_url": links.testimonies(speaker_is_pseudonym=1),
            }
        }

    return inner


async def permalink_page(request, datasette):
    """A permanent address: a redirect to the row's page in the archive being served (asked only of
    those who may see that table: a locked server refuses before it says where anything is)."""
    if refused := not_allowed(request):
        return refused
    database, _ = archive_database(datasette)
    table = KINDS[request.url_vars["kind"]]
    await check_permissions(datasette, request, database, table)
    if database is None:
        raise NotFound("No archive is being served.")
    return Response.redirect(datasette.urls.row(database, table, request.url_vars["id"]))


async def citation_file(request, datasette):
    """One testimony's citation as a file: BibTeX, RIS or CSL-JSON."""
    if refused := not_allowed(request):
        return refused
    database, _ = archive_database(datasette)
    await check_permissions(datasette, request, database, TABLE)
    if database is None:
        raise NotFound("No archive is being served.")
    found = await ask(datasette, database, store.citation, request.url_vars["id"])
    if found is None:
        raise NotFound("No such testimony.")
    fmt = citations.FORMATS[request.url_vars["format"]]
    return download(fmt, [cite(datasette, request, found)], f"testimony-{found.id}")


def download(fmt, references: list, stem: str) -> Response:
    """Citations as a file to save (its name from ASCII letters, digits, - and _ only)."""
    safe = "".join(c for c in stem if c.isascii() and (c.isalnum() or c in "-_")) or "citations"
    filename = f"{safe}.{fmt.extension}"
    return Response(
        fmt.render(references),
        content_type=f"{fmt.media_type}; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
