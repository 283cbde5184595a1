"""The plugin's way to the search API: one pool of searchers per served archive, and `?_search=` on the
testimonies table narrowed to what `search.api` finds (rows, counts, Datasette's facets, sorting,
pagination and the .json/.csv exports all follow)."""

import asyncio
import json
import sqlite3
import threading
from pathlib import Path

from datasette.filters import FilterArguments
from datasette.utils.asgi import Response
from testimony_archive.ingest import store
from testimony_archive.ingest.vocabulary import truthy

from .. import api as search_api
from .. import index as search_index

TABLE = "testimonies"

# One pool of searchers per served archive and index (see search.api.ArchivePool).
_pools: dict[str, search_api.ArchivePool] = {}
_pools_lock = threading.Lock()
# The server's search budget and pool, changed with the plugin's configuration (metadata `plugins:
# testimony:`): search_time_limit (seconds), searchers (how many searches run at once), search_wait
# (seconds a search waits for a free searcher before the server answers 503).
SERVER_TIME_LIMIT = search_api.DEFAULT_BUDGET.time_limit
SEARCHERS = 4
SEARCH_WAIT = 1.0


def archive_database(datasette, requested: str | None = None):
    """The served database holding testimonies: the one asked for, else the first that has them
    (`datasette other.db public.db` serves the archive second)."""
    for name, database in datasette.databases.items():
        wanted = requested is None or name == requested
        if wanted and database.path and not database.is_memory and holds_testimonies(database.path):
            return name, database
    return None, None


_archives: set[str] = set()  # files known to hold testimonies (a table, once there, stays)


def holds_testimonies(path) -> bool:
    """Asked of the file, as the caller cannot wait for a query; a yes is remembered."""
    if str(path) in _archives:
        return True
    try:
        conn = store.connect_read_only(path)
        try:
            found = store.has_table(conn, TABLE)
        finally:
            conn.close()
    except (sqlite3.Error, OSError):
        return False
    if found:
        _archives.add(str(path))
    return found


def table_permissions(database_name: str, table: str) -> list:
    """What Datasette asks before it shows a table: the table, its database, the instance."""
    return [("view-table", (database_name, table)), ("view-database", database_name), "view-instance"]


async def check_permissions(datasette, request, database_name: str | None, table: str = TABLE) -> None:
    """A custom route is not covered by Datasette's permission checks: make the same ones its table gets."""
    if database_name is None:
        await datasette.ensure_permissions(request.actor, ["view-instance"])
        return
    await datasette.ensure_permissions(request.actor, table_permissions(database_name, table))


async def may_see(datasette, request, database_name: str, table: str = TABLE) -> bool:
    """Whether this request's actor may see `table` (what a page showing its rows must ask first)."""
    visible, _ = await datasette.check_visibility(request.actor, permissions=table_permissions(database_name, table))
    return visible


def not_allowed(request) -> Response | None:
    """The plugin's own pages answer GET and HEAD; anything else is a 405, as Datasette's views answer."""
    if request.method in ("GET", "HEAD"):
        return None
    return Response.text("Method not allowed\n", status=405, headers={"Allow": "GET, HEAD"})


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


def table_search(request, database, table, datasette):
    """`?_search=` (and `&_exact_names=1`) on the testimonies table as a filter on the ids it matches."""
    if table != TABLE:
        return None
    text = request.args.get("_search")
    if not text or not text.strip():
        return None
    exact = truthy(request.args.get("_exact_names"))

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
            [store.SEARCH_FILTER],
            {store.SEARCH_FILTER_PARAM: json.dumps(ids)},
            [described],
        )

    return inner


def table_vars(request) -> dict:
    """The testimonies table page: the search box, filled in with the search it shows."""
    return {"supports_search": True, "search": request.args.get("_search", "") if request else ""}
