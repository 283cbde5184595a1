"""The Datasette plugin: our Whoosh search inside Datasette.

- `?_search=` on the testimonies table runs through `search.api`, so rows, counts, Datasette's facets,
  sorting, pagination and the .json/.csv exports all narrow to the matches;
- `/-/search` (and `/-/search.json`) is a ranked search page with highlighted snippets, clickable
  facets, pagination and the name-variant explanation, each hit linking to its row;
- a pseudonym marker beside every pseudonymous name, and a ready-to-copy citation on each
  testimony's row page;
- the gate: while any database it serves is a full archive, Datasette answers 403 to everyone but the
  archivist, however it was started (`datasette archive.db`, `testimony serve`, `Datasette([...])`).

Everything rendered is escaped: snippets arrive from `search.api` already escaped (only `<mark>` is
markup), and every other value goes through Jinja's autoescape or `markupsafe.escape`.
"""

import asyncio
import contextvars
import json
import os
import re
import sqlite3
import sys
import threading
import urllib.parse
from functools import lru_cache
from pathlib import Path

from datasette import hookimpl
from datasette.database import QueryInterrupted
from datasette.filters import FilterArguments
from datasette.utils import tilde_decode
from datasette.utils.asgi import Response
from jinja2 import ChoiceLoader, FileSystemLoader
from markupsafe import Markup, escape
from testimony_archive.ingest import crypto
from testimony_archive.ingest.store import ARCHIVE_TABLES, kind_of

from . import api as search_api
from . import hardening
from . import index as search_index

TEMPLATES = Path(__file__).resolve().parent / "templates"
TABLE = "testimonies"
PSEUDONYM_TITLE = "Pseudonym: the name was changed to protect the person"
FACET_PARAMS = ("role", "status", "relationship", "publisher", "tags", "year", "language", "pseudonym")

# One pool of searchers per served archive and index (see search.api.ArchivePool).
_pools: dict[str, search_api.ArchivePool] = {}
_pools_lock = threading.Lock()
# The server's search budget and pool, changed with the plugin's configuration (metadata `plugins:
# testimony:`): search_time_limit (seconds), searchers (how many searches run at once), search_wait
# (seconds a search waits for a free searcher before the server answers 503).
SERVER_TIME_LIMIT = search_api.DEFAULT_BUDGET.time_limit
SEARCHERS = 4
SEARCH_WAIT = 1.0
RETRY_AFTER = "2"


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


def pool_for(datasette, database_name: str) -> search_api.ArchivePool:
    database = datasette.get_database(database_name)
    config = datasette.plugin_config("testimony") or {}
    index_dir = (config.get("indexes") or {}).get(database_name) or search_index.index_dir_for(database.path)
    key = f"{id(datasette)}\x00{database.path}\x00{index_dir}"  # each server its own pool and settings
    with _pools_lock:
        if key not in _pools:
            budget = search_api.Budget(time_limit=float(config.get("search_time_limit", SERVER_TIME_LIMIT)))
            _pools[key] = search_api.ArchivePool(
                Path(database.path),
                Path(index_dir),
                size=int(config.get("searchers", SEARCHERS)),
                wait=float(config.get("search_wait", SEARCH_WAIT)),
                budget=budget,
            )
        return _pools[key]


async def run_search(datasette, database_name, method, *args, **kwargs):
    """Off the event loop, on one of the archive's pooled searchers (SearchBusy when none frees up)."""
    pool = pool_for(datasette, database_name)
    return await asyncio.to_thread(pool.call, method, *args, **kwargs)


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
            ids, unindexed = await run_search(datasette, database, "matching", text, exact_names=exact)
        except search_api.SearchError as error:
            return FilterArguments(
                ["0"], human_descriptions=[f"search error: {error}"], extra_context={"search_error": str(error)}
            )
        except (FileNotFoundError, search_api.SearchBusy) as error:
            return FilterArguments(["0"], human_descriptions=[f"search unavailable: {error}"])
        described = f'search matches "{text}"'
        if unindexed:
            described += f" ({unindexed} testimonies not in the search index yet: the archive is being updated)"
        return FilterArguments(
            ["id in (select value from json_each(:_testimony_search_ids))"],
            {"_testimony_search_ids": json.dumps(ids)},
            [described],
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
    if table == "private_fields" and column == "value" and str(value).startswith("gAAAA"):  # a Fernet token
        # Only a full archive has this table, and the gate shows it to the archivist alone. Encrypted at
        # rest, shown in clear on the page when this server holds the archive key; never in JSON or CSV.
        return private_value(value)
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


def private_value(token: str) -> Markup:
    try:
        key = crypto.load_key()
        return escape(key.decrypt(token)) if key else Markup("<em>encrypted (no archive key on this server)</em>")
    except crypto.KeyProblem:
        return Markup("<em>encrypted with another key</em>")


@hookimpl
def get_metadata(datasette, key, database, table):
    """A person's label is the name as the archive prints it (`Patime*`): Datasette shows the label in
    expanded foreign keys, their facets and the JSON and CSV exports with `_labels`, and would otherwise
    pick `name` and drop the pseudonym's star. Given for every archive served, with or without the
    project's metadata.yml."""
    labelled = [name for name, db in datasette.databases.items() if _people_have_display_name(db.path)]
    if not labelled:
        return None
    people = {"tables": {"people": {"label_column": "display_name"}}}
    return {"databases": dict.fromkeys(labelled, people)}


def _people_have_display_name(path) -> bool:
    try:
        stamp = os.stat(path).st_mtime_ns
    except (OSError, TypeError):
        return False
    return _display_name_column(str(path), stamp)


@lru_cache(maxsize=64)
def _display_name_column(path: str, stamp: int) -> bool:
    try:
        conn = sqlite3.connect(f"file:{urllib.parse.quote(path)}?mode=ro", uri=True)
        try:
            return any(row[1] == "display_name" for row in conn.execute("pragma table_info(people)"))
        finally:
            conn.close()
    except sqlite3.Error:
        return False


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
        except (FileNotFoundError, search_api.SearchBusy) as error_:
            error, status = str(error_), 503
    # Busy or rebuilding: worth asking again soon.
    headers = {"Retry-After": RETRY_AFTER} if status == 503 else {}
    base = {"q": text, "sort": sort if sort != "relevance" else None, "exact_names": "1" if exact else None, **filters}
    if result is not None:
        for hit in result.hits:
            hit["url"] = datasette.urls.row(database_name, TABLE, hit["id"])
    if as_json:
        body = {"ok": error is None, "error": error}
        if result is not None:
            body.update(result.to_dict())
        return Response.json(body, status=status, headers=headers)
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
        headers=headers,
    )


# The gate. A full archive (what `testimony ingest` writes) holds restricted testimonies, private fields,
# file paths, takedown reasons and the audit log. `datasette archive.db` loads this plugin too, so the
# rule "a full archive is served only to the archivist" is kept here, where every way of starting
# Datasette goes through, not in `testimony serve`.

ARCHIVIST = "archivist"  # the account datasette-auth-passwords logs in; `--root` is not it
PASSWORD_ENV = "TESTIMONY_ARCHIVIST_PASSWORD_HASH"  # noqa: S105 - the name of a variable, not a secret
FULL_ARCHIVE = "full"
PUBLIC_ARCHIVE = "public"
INTERNAL_DATABASE = "_internal"  # Datasette's own catalogue of what it serves

# Which served databases are full archives, asked once per request (see gate_memo) and never kept
# longer: a database served empty becomes a full archive as soon as `testimony ingest` writes into it.
# Keyed by id(datasette), in case one Datasette's request asks another.
_request_memo: contextvars.ContextVar[dict[int, list[str]] | None] = contextvars.ContextVar(
    "testimony_gate", default=None
)


async def archive_kind(database) -> str | None:
    """FULL_ARCHIVE, PUBLIC_ARCHIVE, or None for a database that is not an archive (`ingest.db.kind_of`
    decides, from the tables and the mark `publish` leaves). A database that cannot be read counts as
    full, so an error locks rather than opens."""
    names = ARCHIVE_TABLES
    try:
        found = await database.execute(
            f"select name from sqlite_master where type = 'table' and lower(name) in ({', '.join('?' * len(names))})",
            names,
        )
        tables = {row[0] for row in found.rows}
        published = False
        if "archive_meta" in {name.lower() for name in tables}:
            published = bool((await database.execute("select 1 from archive_meta where key = 'published_at'")).rows)
    except (sqlite3.Error, QueryInterrupted):
        return FULL_ARCHIVE
    return kind_of(tables, published)


async def full_archives(datasette) -> list[str]:
    """The names of the served databases that are full archives."""
    memo = _request_memo.get()
    if memo is not None and id(datasette) in memo:
        return memo[id(datasette)]
    names = [
        name
        for name, database in list(datasette.databases.items())
        if name != INTERNAL_DATABASE and await archive_kind(database) == FULL_ARCHIVE
    ]
    if memo is not None:
        memo[id(datasette)] = names
    return names


def is_archivist(actor) -> bool:
    return bool(actor) and actor.get("id") == ARCHIVIST


NO_CACHE = (b"cache-control", b"no-cache")


@hookimpl
def asgi_wrapper(datasette):
    """One look at sqlite_master per database per request, however many permission checks a page makes;
    and no page kept by a browser or proxy (a taken-down testimony must not outlive its takedown there),
    whatever `default_cache_ttl` the server was started with. Static assets keep their caching. Then
    search.hardening: no 500 for a bad parameter, no traceback in the log, formula-safe CSV, rate-limited
    logins."""

    def wrap(app):
        async def gate_memo(scope, receive, send):
            if scope["type"] != "http":  # the lifespan task lives as long as the server: no memo there
                return await app(scope, receive, send)
            path = scope.get("path", "")
            static = path.startswith("/-/static")
            if _static_archive_file(datasette, path):
                return await _refuse(send, 403, "403: archive files are not served as static files")
            if _replaced_files(datasette):
                return await _refuse(
                    send,
                    503,
                    "503: a database file this server serves was replaced or removed since it started (a new "
                    "publish to a deleted copy?): the server still has the old one open. Restart it.",
                )

            async def send_uncached(message):
                if message["type"] == "http.response.start" and not static:
                    headers = [h for h in message.get("headers", []) if h[0].lower() != b"cache-control"]
                    message = dict(message, headers=[*headers, NO_CACHE])
                await send(message)

            token = _request_memo.set({})
            try:
                await hardening.serve(datasette, app, scope, receive, send_uncached)
            finally:
                _request_memo.reset(token)

        return hardening.last_stop(gate_memo)

    return wrap


@hookimpl(wrapper=True)
def handle_exception(datasette, request, exception):
    """Every error answered as a 404, a 400 or a 500 with one line in the log (search.hardening).

    A wrapper, because Datasette awaits every handler's answer: its default one, left in the list,
    would print a traceback with the local variables of every frame, for a 404 too. `--pdb` keeps it.
    """
    answers = yield
    if datasette.pdb:
        return answers
    return [hardening.error_response(datasette, request, exception)]


@hookimpl(specname="filters_from_request")
def facets_on_real_columns(request, database, table, datasette):
    """`?_facet=` on a column the table lacks: a 400 before Datasette runs (and logs) the facet's SQL."""
    return hardening.facet_columns_checked(request, database, table, datasette)


async def _refuse(send, status: int, text: str) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"text/plain; charset=utf-8"), NO_CACHE],
        }
    )
    await send({"type": "http.response.body", "body": text.encode("utf-8")})


def _static_archive_file(datasette, path: str) -> bool:
    """A file under a `--static` mount that is an archive's: any SQLite database, its journals, its writer
    lock, a Whoosh index's files (whatever its folder is called), or anything inside an index folder.
    `datasette public.db --static assets:.` must not hand out the full archive beside it. The mount is
    matched as Datasette routes it, after `base_url`."""
    base_url = (datasette.setting("base_url") or "/").rstrip("/")
    if base_url and path.startswith(base_url + "/"):
        path = path[len(base_url) :]
    for mount, folder in getattr(datasette, "static_mounts", []):
        prefix = f"/{mount}/"
        if path.startswith(prefix):
            return _archive_file((Path(folder) / path[len(prefix) :]).resolve())
    return False


WHOOSH_FILES = re.compile(r"(^_.*_\d+\.toc$|\.seg$|^GENERATION$|^VERSION$|_WRITELOCK$|^_MAIN_\d+\.toc$)")


def _archive_file(target: Path) -> bool:
    if target.name.endswith(("-wal", "-shm", "-journal", ".lock")) or WHOOSH_FILES.search(target.name):
        return True
    if any(part.endswith(".whoosh") for part in target.parts) or any(target.parent.glob("_*_*.toc")):
        return True
    try:
        with open(target, "rb") as opened:
            return opened.read(16) == b"SQLite format 3\x00"
    except OSError:
        return False


# (id of the Datasette, database name) -> what identifies the file when the server first saw it.
_file_identities: dict[tuple[int, str], tuple | None] = {}


def _replaced_files(datasette) -> list[str]:
    """Served databases whose file is no longer the one the server opened: removed, or replaced by a new
    file (Datasette keeps the old one open and would go on serving what a takedown removed from the new).
    A database opened immutable (`datasette -i`) is never re-read by SQLite, so any change to its file (a
    takedown writes in place) counts too: the server must be restarted to serve the new content."""
    changed = []
    for name, database in list(datasette.databases.items()):
        if not database.path or database.is_memory:
            continue
        try:
            found = os.stat(database.path)
            identity = (found.st_dev, found.st_ino)
            if not database.is_mutable:
                identity += (found.st_size, found.st_mtime_ns)
        except OSError:
            identity = None
        if _file_identities.setdefault((id(datasette), name), identity) != identity:
            changed.append(name)
    return changed


@hookimpl(trylast=True)
def permission_allowed(datasette, actor, action, resource):
    """While a full archive is served, everything is refused to everyone but the archivist.

    trylast: Datasette keeps the last answer that is not None, so this one overrides `allow` blocks,
    `--root` and other plugins. For the archivist it has no opinion, and the usual rules apply.
    """

    async def inner():
        if is_archivist(actor):
            return None
        if await full_archives(datasette):
            return False
        return None

    return inner


def locked_warning(datasette, full: list[str]) -> str:
    """One line for the console of a server that serves a full archive nobody can log in to."""
    paths = [str(datasette.databases[name].path or name) for name in full]
    others = [name for name in datasette.databases if name != INTERNAL_DATABASE and name not in full]
    archive = paths[0] if len(paths) == 1 else "ARCHIVE"
    return (
        f"testimony: {', '.join(paths)} {'is a full archive' if len(paths) == 1 else 'are full archives'} "
        "(restricted testimonies, private fields, file paths, the audit log) and no archivist login is "
        f"configured: the instance is locked, every page{' (' + ', '.join(others) + ' too)' if others else ''} "
        f"answers 403. To serve it, publish the public archive (testimony publish --db {archive} --out "
        f"public.db) and serve that, or configure the archivist login ({PASSWORD_ENV} with testimony serve)."
    )


@hookimpl
def startup(datasette):
    async def inner():
        _replaced_files(datasette)  # remember which files are served
        full = await full_archives(datasette)
        login = (datasette.plugin_config("datasette-auth-passwords") or {}).get(f"{ARCHIVIST}_password_hash")
        if full and not login:
            print(locked_warning(datasette, full), file=sys.stderr)

    return inner
