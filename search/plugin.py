"""The Datasette plugin: our Whoosh search inside Datasette.

- `?_search=` on the testimonies table runs through `search.api`, so rows, counts, Datasette's facets,
  sorting, pagination and the .json/.csv exports all narrow to the matches;
- `/-/search` (and `/-/search.json`) is a ranked search page with highlighted snippets, clickable
  facets, pagination and the name-variant explanation, each hit linking to its row;
- a pseudonym marker beside every pseudonymous name, and a ready-to-copy citation on each
  testimony's row page.

Everything rendered is escaped: snippets arrive from `search.api` already escaped (only `<mark>` is
markup), and every other value goes through Jinja's autoescape or `markupsafe.escape`.
"""

import asyncio
import json
import threading
import urllib.parse
from pathlib import Path

from datasette import hookimpl
from datasette.filters import FilterArguments
from datasette.utils import tilde_decode
from datasette.utils.asgi import Response
from jinja2 import ChoiceLoader, FileSystemLoader
from markupsafe import Markup, escape

from . import api as search_api
from . import index as search_index

TEMPLATES = Path(__file__).resolve().parent / "templates"
TABLE = "testimonies"
PSEUDONYM_TITLE = "Pseudonym: the name was changed to protect the person"
FACET_PARAMS = ("role", "status", "relationship", "publisher", "tags", "year", "language", "pseudonym")

_archives: dict[str, tuple[search_api.Archive, threading.Lock]] = {}
_archives_lock = threading.Lock()


def marker() -> Markup:
    return Markup('<abbr class="pseudonym" title="{}">*</abbr>').format(PSEUDONYM_TITLE)


def pseudonym_name(name, is_pseudonym) -> Markup:
    return escape(name) + marker() if is_pseudonym else escape(name)


def archive_database(datasette, requested: str | None = None):
    """The served database holding testimonies: the one asked for, else the first that has them."""
    for name, database in datasette.databases.items():
        if (requested is None or name == requested) and database.path and not database.is_memory:
            return name, database
    return None, None


def archive_for(datasette, database_name: str) -> tuple[search_api.Archive, threading.Lock]:
    database = datasette.get_database(database_name)
    config = datasette.plugin_config("testimony") or {}
    index_dir = (config.get("indexes") or {}).get(database_name) or search_index.index_dir_for(database.path)
    key = f"{database.path}\x00{index_dir}"
    with _archives_lock:
        if key not in _archives:
            _archives[key] = (search_api.Archive(Path(database.path), Path(index_dir)), threading.Lock())
        return _archives[key]


async def run_search(datasette, database_name, method, *args, **kwargs):
    """Whoosh searchers are not thread-safe: one search at a time per archive, off the event loop."""
    archive, lock = archive_for(datasette, database_name)

    def call():
        with lock:
            return getattr(archive, method)(*args, **kwargs)

    return await asyncio.to_thread(call)


@hookimpl
def prepare_jinja2_environment(env):
    """Our templates ahead of Datasette's (which stay reachable as "default:row.html").

    Datasette finds a plugin's templates with importlib.resources.files(), which on Python 3.11 only
    works for packages; this plugin is one module, so it adds its folder itself.
    """
    env.loader = ChoiceLoader([FileSystemLoader(str(TEMPLATES)), env.loader])


@hookimpl
def filters_from_request(request, database, table, datasette):
    if table != TABLE:
        return None
    text = request.args.get("_search")
    if not text or not text.strip():
        return None
    exact = request.args.get("_exact_names") in ("1", "on", "true")

    async def inner():
        try:
            ids = await run_search(datasette, database, "matching_ids", text, exact_names=exact)
        except search_api.SearchError as error:
            return FilterArguments(
                ["0"], human_descriptions=[f"search error: {error}"], extra_context={"search_error": str(error)}
            )
        except FileNotFoundError as error:
            return FilterArguments(["0"], human_descriptions=[f"search unavailable: {error}"])
        return FilterArguments(
            ["id in (select value from json_each(:_testimony_search_ids))"],
            {"_testimony_search_ids": json.dumps(ids)},
            [f'search matches "{text}"'],
        )

    return inner


@hookimpl
def extra_template_vars(template, database, table, view_name, request, datasette):
    if view_name == "table" and table == TABLE:
        return {"supports_search": True, "search": request.args.get("_search", "") if request else ""}
    if view_name == "row" and table == TABLE and request is not None:

        async def inner():
            return {"testimony_citation": await citation(datasette, database, request.url_vars.get("pks"))}

        return inner
    return {}


async def citation(datasette, database_name, pks) -> dict | None:
    if not pks:
        return None
    testimony_id = tilde_decode(pks)
    db = datasette.get_database(database_name)
    rows = (
        await db.execute(
            """select t.id, t.speaker, t.speaker_is_pseudonym, t.publisher, t.source_title, t.published,
            t.date, s.url from testimonies t join sources s on s.id = t.source_id where t.id = ?""",
            [testimony_id],
        )
    ).rows
    if not rows:
        return None
    row = dict(rows[0])
    speaker = search_api.display_name(row["speaker"], row["speaker_is_pseudonym"])
    parts = [
        f"{speaker}{' (pseudonym)' if row['speaker_is_pseudonym'] else ''}",
        f"quoted in \u201c{row['source_title']}\u201d",
        row["publisher"],
        row["published"],
    ]
    if row["url"]:
        parts.append(row["url"])
    parts.append(f"testimony {row['id']}")
    return {"text": ", ".join(parts) + ".", **row, "speaker_display": speaker}


@hookimpl
def render_cell(row, value, column, table, database, datasette):
    if value is None:
        return None
    if isinstance(value, dict):  # a foreign key Datasette has already expanded to {"value", "label"}
        value = value.get("value")
    # row is a sqlite3.Row: `in row` would test its values, so ask its keys. A page can leave the flag
    # out (?_col=speaker, ?_nocol=...): then it is looked up, so the marker is never dropped.
    keys = set(row.keys())
    if table == TABLE and column in ("speaker", "speaker_id"):

        async def speaker_cell():
            if {"speaker", "speaker_is_pseudonym"} <= keys:
                name, flag = row["speaker"], row["speaker_is_pseudonym"]
            else:
                db = datasette.get_database(database)
                where, key = ("id = ?", row["id"]) if "id" in keys else ("speaker_id = ?", value)
                found = (
                    await db.execute(f"select speaker, speaker_is_pseudonym from testimonies where {where}", [key])
                ).rows
                if not found:
                    return None
                name, flag = found[0]["speaker"], found[0]["speaker_is_pseudonym"]
            if column == "speaker":
                return pseudonym_name(value, flag)
            url = datasette.urls.row(database, "people", value)
            return Markup('<a href="{}">{}</a>').format(url, pseudonym_name(name, flag))

        return speaker_cell
    if table == "people" and column == "name":
        if "is_pseudonym" in keys:
            return pseudonym_name(value, row["is_pseudonym"])

        async def name_cell():
            found = (
                await datasette.get_database(database).execute(
                    "select is_pseudonym from people where id = ?", [row["id"]]
                )
            ).rows
            return pseudonym_name(value, found[0]["is_pseudonym"]) if found else None

        return name_cell if "id" in keys else None
    if table == "testimony_subjects" and column == "person_id":

        async def inner():
            db = datasette.get_database(database)
            found = (await db.execute("select name, is_pseudonym from people where id = ?", [value])).rows
            if not found:
                return None
            url = datasette.urls.row(database, "people", value)
            return Markup('<a href="{}">{}</a>').format(url, pseudonym_name(found[0]["name"], found[0]["is_pseudonym"]))

        return inner
    return None


@hookimpl
def register_routes():
    return [(r"^/-/search(?P<format>\.json)?$", search_page)]


@hookimpl
def menu_links(datasette, actor):
    return [{"href": datasette.urls.path("/-/search"), "label": "Search testimonies"}]


def _filters_from(args) -> dict[str, list[str]]:
    return {name: args.getlist(name) for name in FACET_PARAMS if args.getlist(name)}


def _url(datasette, params: dict) -> str:
    flat = [
        (k, v)
        for k, values in params.items()
        for v in (values if isinstance(values, list) else [values])
        if v not in (None, "")
    ]
    return datasette.urls.path("/-/search") + ("?" + urllib.parse.urlencode(flat) if flat else "")


async def search_page(request, datasette):
    # A custom route is not covered by Datasette's permission checks: make the same ones its tables get.
    database_name, _ = archive_database(datasette, request.args.get("db"))
    if database_name is not None:
        await datasette.ensure_permissions(
            request.actor, [("view-table", (database_name, TABLE)), ("view-database", database_name), "view-instance"]
        )
    args = request.args
    text = args.get("q", "")
    filters = _filters_from(args)
    exact = args.get("exact_names") in ("1", "on", "true")
    sort = args.get("sort", "relevance")
    as_json = request.url_vars.get("format") == ".json"
    error = None
    result = None
    status = 200
    if database_name is None:
        error, status = "No archive is being served.", 404
    else:
        try:
            page = int(args.get("page", "1") or 1)
            page_size = int(args.get("size", str(search_api.DEFAULT_PAGE_SIZE)) or search_api.DEFAULT_PAGE_SIZE)
            result = await run_search(
                datasette,
                database_name,
                "search",
                text,
                filters=filters,
                sort=sort,
                page=page,
                page_size=page_size,
                exact_names=exact,
            )
        except ValueError as error_:  # SearchError is a ValueError; so is a bad page number
            error, status = (
                str(error_) if isinstance(error_, search_api.SearchError) else "Page and size must be whole numbers.",
                400,
            )
        except FileNotFoundError as error_:
            error, status = str(error_), 503
    base = {"q": text, "sort": sort if sort != "relevance" else None, "exact_names": "1" if exact else None, **filters}
    if result is not None:
        for hit in result.hits:
            hit["url"] = datasette.urls.row(database_name, TABLE, hit["id"])
    if as_json:
        body = {"ok": error is None, "error": error}
        if result is not None:
            body.update(result.to_dict())
        return Response.json(body, status=status)
    facets = []
    if result is not None:
        for name, counts in result.facets.items():
            selected = set(filters.get(name, []))
            items = []
            for value, count in list(counts.items())[:15]:
                chosen = value in selected
                values = [v for v in filters.get(name, []) if v != value] if chosen else filters.get(name, []) + [value]
                items.append(
                    {
                        "value": value,
                        "count": count,
                        "selected": chosen,
                        "url": _url(datasette, {**base, name: values, "page": None}),
                    }
                )
            facets.append({"name": name, "items": items})
    pages = {}
    if result is not None:
        if result.page > 1:
            pages["previous"] = _url(datasette, {**base, "page": str(result.page - 1)})
        if result.page < result.pages:
            pages["next"] = _url(datasette, {**base, "page": str(result.page + 1)})
    table_url = datasette.urls.table(database_name, TABLE) if database_name else None
    return Response.html(
        await datasette.render_template(
            "testimony_search.html",
            {
                "q": text,
                "sort": sort,
                "exact_names": exact,
                "filters": filters,
                "result": result,
                # Snippets were escaped by search.api.MarkFormatter; <mark> is their only markup.
                "hits": [dict(hit, snippet=Markup(hit["snippet"])) for hit in (result.hits if result else [])],  # noqa: S704
                "facets": facets,
                "pages": pages,
                "error": error,
                "json_url": datasette.urls.path("/-/search.json")
                + ("?" + request.query_string if request.query_string else ""),
                "table_url": table_url + ("?" + urllib.parse.urlencode({"_search": text}) if text else "")
                if table_url
                else None,
                "clear_url": _url(datasette, {"q": text}),
                "pseudonym_title": PSEUDONYM_TITLE,
            },
            request=request,
        ),
        status=status,
    )
