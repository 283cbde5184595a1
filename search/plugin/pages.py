"""The `/-/search` page (and `/-/search.json`): ranked hits with highlighted snippets, clickable facets,
pagination and the name-variant explanation, each hit linking to its row. `/-/search.bib` (`.ris`,
`.csl.json`) is the same page of hits as a citation file.

`search_page` reads the request, runs the search, then builds the links (hits, facets, pages) and
answers JSON or HTML; each step is a function of its own.
"""

import urllib.parse
from dataclasses import dataclass, field, replace

from datasette.utils.asgi import Response
from markupsafe import Markup
from testimony_archive.ingest import store
from testimony_archive.ingest.vocabulary import FACETS, truthy

from .. import api as search_api
from .. import citations
from . import reading
from .cells import PSEUDONYM_TITLE, ask
from .searching import TABLE, archive_database, check_permissions, not_allowed, run_search

PATH = "/-/search"
ROUTE = rf"^/-/search(?P<format>\.json|\.(?:{reading.FORMAT_SUFFIXES}))?$"
TEMPLATE = "testimony_search.html"
FACET_VALUES_SHOWN = 15
RETRY_AFTER = "2"  # seconds: busy or rebuilding, worth asking again soon


@dataclass(frozen=True)
class Asked:
    """What a request to the search page asks for."""

    database: str | None
    text: str
    filters: dict[str, list[str]]
    exact_names: bool
    sort: str
    page: str
    size: str
    as_json: bool
    citation_format: str | None = None  # a key of citations.FORMATS

    def link_params(self) -> dict:
        """The query string every link on the page keeps."""
        return {
            "q": self.text,
            "sort": self.sort if self.sort != "relevance" else None,
            "exact_names": "1" if self.exact_names else None,
            **self.filters,
        }


@dataclass
class Answer:
    """What the search gave: a result, or an error and its status."""

    result: search_api.SearchResult | None = None
    error: str | None = None
    status: int = 200
    headers: dict = field(default_factory=dict)


def parse_request(request, datasette) -> Asked:
    args = request.args
    database_name, _ = archive_database(datasette, args.get("db"))
    suffix = (request.url_vars.get("format") or "").removeprefix(".")
    return Asked(
        database=database_name,
        text=args.get("q", ""),
        filters={name: args.getlist(name) for name in FACETS if args.getlist(name)},
        exact_names=truthy(args.get("exact_names")),
        sort=args.get("sort", "relevance"),
        page=args.get("page", "1") or "1",
        size=args.get("size", "") or str(search_api.DEFAULT_PAGE_SIZE),
        as_json=suffix == "json",
        citation_format=suffix if suffix in citations.FORMATS else None,
    )


async def search(datasette, asked: Asked) -> Answer:
    if asked.database is None:
        return Answer(error="No archive is being served.", status=404)
    try:
        result = await run_search(
            datasette,
            asked.database,
            "search",
            asked.text,
            filters=asked.filters,
            sort=asked.sort,
            page=int(asked.page),
            page_size=int(asked.size),
            exact_names=asked.exact_names,
        )
    except search_api.SearchError as error:
        return Answer(error=str(error), status=400)
    except ValueError:
        return Answer(error="Page and size must be whole numbers.", status=400)
    except (FileNotFoundError, search_api.SearchBusy) as error:
        return Answer(error=str(error), status=503, headers={"Retry-After": RETRY_AFTER})
    # Each hit with the link to its row; the search's own answer is left as it came.
    hits = [dict(hit, url=datasette.urls.row(asked.database, TABLE, hit["id"])) for hit in result.hits]
    return Answer(result=replace(result, hits=hits))


def search_url(datasette, params: dict) -> str:
    flat = [
        (name, value)
        for name, values in params.items()
        for value in (values if isinstance(values, list) else [values])
        if value not in (None, "")
    ]
    return datasette.urls.path(PATH) + ("?" + urllib.parse.urlencode(flat) if flat else "")


def facet_links(datasette, asked: Asked, result) -> list[dict]:
    """Each facet's first values, each linking to the search narrowed by it (or widened, if chosen)."""
    facets = []
    for name, counts in result.facets.items():
        chosen_values = asked.filters.get(name, [])
        items = []
        for value, count in list(counts.items())[:FACET_VALUES_SHOWN]:
            chosen = value in chosen_values
            values = [v for v in chosen_values if v != value] if chosen else [*chosen_values, value]
            url = search_url(datasette, {**asked.link_params(), name: values, "page": None})
            items.append({"value": value, "count": count, "selected": chosen, "url": url})
        facets.append({"name": name, "items": items})
    return facets


def page_links(datasette, asked: Asked, result) -> dict:
    pages = {}
    if result.page > 1:
        pages["previous"] = search_url(datasette, {**asked.link_params(), "page": str(result.page - 1)})
    if result.page < result.pages:
        pages["next"] = search_url(datasette, {**asked.link_params(), "page": str(result.page + 1)})
    return pages


def json_response(answer: Answer) -> Response:
    body = {"ok": answer.error is None, "error": answer.error}
    if answer.result is not None:
        body.update(answer.result.to_dict())
    return Response.json(body, status=answer.status, headers=answer.headers)


async def html_response(datasette, request, asked: Asked, answer: Answer) -> Response:
    result = answer.result
    query = "?" + request.query_string if request.query_string else ""
    table_url = datasette.urls.table(asked.database, TABLE) if asked.database else None
    if table_url and asked.text:
        table_url += "?" + urllib.parse.urlencode({"_search": asked.text})
    context = {
        "q": asked.text,
        "sort": asked.sort,
        "exact_names": asked.exact_names,
        "filters": asked.filters,
        "result": result,
        # search.snippets.Snippet.html escaped everything but the <mark> of each matched span.
        "hits": [dict(hit, snippet=Markup(hit["snippet"])) for hit in (result.hits if result else [])],  # noqa: S704
        "facets": facet_links(datasette, asked, result) if result else [],
        "pages": page_links(datasette, asked, result) if result else {},
        "error": answer.error,
        "json_url": datasette.urls.path(PATH + ".json") + query,
        "citation_urls": [
            (fmt.label, datasette.urls.path(f"{PATH}.{suffix}") + query) for suffix, fmt in citations.FORMATS.items()
        ],
        "table_url": table_url,
        "clear_url": search_url(datasette, {"q": asked.text}),
        "pseudonym_title": PSEUDONYM_TITLE,
    }
    page = await datasette.render_template(TEMPLATE, context, request=request)
    return Response.html(page, status=answer.status, headers=answer.headers)


async def citation_response(datasette, request, asked: Asked, answer: Answer) -> Response:
    """The page of hits as one citation file, in the order of the page; an error as a line of text."""
    if answer.result is None:
        return Response.text(answer.error + "\n", status=answer.status, headers=answer.headers)
    ids = [hit["id"] for hit in answer.result.hits]
    found = await ask(datasette, asked.database, store.citations, ids)
    references = [reading.cite(datasette, request, found[id_]) for id_ in ids if id_ in found]
    return reading.download(citations.FORMATS[asked.citation_format], references, "search-results")


async def search_page(request, datasette):
    if refused := not_allowed(request):
        return refused
    asked = parse_request(request, datasette)
    await check_permissions(datasette, request, asked.database)
    answer = await search(datasette, asked)
    if asked.as_json:
        return json_response(answer)
    if asked.citation_format:
        return await citation_response(datasette, request, asked, answer)
    return await html_response(datasette, request, asked, answer)
