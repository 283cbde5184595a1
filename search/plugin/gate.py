"""The gate: while any database this server serves is a full archive, nobody but the archivist sees anything.

A full archive (what `testimony ingest` writes) holds restricted testimonies, private fields, file paths,
takedown reasons and the audit log. `datasette archive.db` loads this plugin too, so the rule "a full
archive is served only to the archivist" is kept here, where every way of starting Datasette goes
through, not in `testimony serve`. Beside the permission rule: a refused visitor gets one answer whatever
the URL names, archive files are never served as static files, and a database file replaced under the
running server stops it serving anything.
"""

import contextvars
import os
import re
import sqlite3
import sys
from pathlib import Path

from datasette.utils import await_me_maybe
from datasette.utils.asgi import Request
from datasette.views.base import DatasetteError
from testimony_archive.ingest import store

from .. import hardening

ARCHIVIST = "archivist"  # the account datasette-auth-passwords logs in; `--root` is not it
PASSWORD_ENV = "TESTIMONY_ARCHIVIST_PASSWORD_HASH"  # noqa: S105 - the name of a variable, not a secret
FULL_ARCHIVE = "full"
INTERNAL_DATABASE = "_internal"  # Datasette's own catalogue of what it serves
REFUSAL = "This archive is not open to the public."
# The answers a refused visitor gets as the one refusal (see refusals_alike); 429 tells a client how long
# to wait before its next login and names nothing.
REFUSED_STATUSES = frozenset(range(400, 500)) - {429}

# Which served databases are full archives, asked once per request (see wrap) and never kept longer: a
# database served empty becomes a full archive as soon as `testimony ingest` writes into it. Keyed by
# id(datasette), in case one Datasette's request asks another.
_request_memo: contextvars.ContextVar[dict[int, list[str]] | None] = contextvars.ContextVar(
    "testimony_gate", default=None
)


async def archive_kind(database) -> str | None:
    """FULL_ARCHIVE, "public", or None for a database that is not an archive (`store.kind` decides, from the
    tables and the mark `publish` leaves). A database that cannot be read counts as full, so an error
    locks rather than opens."""
    try:
        return await database.execute_fn(store.kind)
    except (sqlite3.Error, OSError):
        return FULL_ARCHIVE


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


async def allowed(datasette, actor) -> bool | None:
    """False for everyone but the archivist while a full archive is served; else no opinion (None)."""
    if is_archivist(actor):
        return None
    if await full_archives(datasette):
        return False
    return None


async def visitor_refused(datasette, request) -> bool:
    """Whether this request's visitor may not see the instance at all (the gate, or an `allow` block).
    Credentials Datasette could not read (search.hardening refuses them) make an anonymous visitor."""
    # Imported here: datasette.plugins loads the entry points when first imported, and would register
    # this package half-built (no hooks yet) if its import started from here.
    from datasette.plugins import pm

    actor = None
    if not hardening.header_problem(request.scope):
        for candidate in pm.hook.actor_from_request(datasette=datasette, request=request):
            actor = await await_me_maybe(candidate)
            if actor:
                break
    return not await datasette.permission_allowed(actor, "view-instance", default=True)


def refusals_alike(datasette, scope, receive, send):
    """`send`, with every refusal of a refused visitor replaced by one answer: 403 and REFUSAL (as JSON
    for a .json path, else as an HTML page), the same for a database, table, row or query that exists
    and for one that does not, so that nobody who may not look can learn what the server holds by
    asking for names. 403 rather than 404: the whole instance is refused, whatever is asked. Datasette
    answers first and its answer is replaced, so no list of open pages is kept here: what it serves to
    anyone (the login, robots.txt, its static assets) stays as it is. The login itself is left alone
    (its form errors and rate limits name nothing). A visitor who may see the instance, the archivist
    included, gets Datasette's answers, real 404s too."""
    if hardening.route_path(datasette, scope) in hardening.LOGIN_PATHS:
        return send
    replaced = False

    async def send_or_refuse(message):
        nonlocal replaced
        if replaced:  # the rest of the answer that was replaced
            return
        if message["type"] == "http.response.start" and message["status"] in REFUSED_STATUSES:
            request = Request(scope, receive)
            if await visitor_refused(datasette, request):
                replaced = True
                refusal = DatasetteError(REFUSAL, title="Forbidden", status=403)
                response = await hardening.error_response(datasette, request, refusal)()
                return await response.asgi_send(send)
        await send(message)

    return send_or_refuse


NO_CACHE = (b"cache-control", b"no-cache")


def wrap(datasette, app):
    """`app` behind the gate: archive files under a static mount refused, replaced database files
    answered 503, the gate's question asked once per request, refusals all alike, and no page kept by a
    browser or proxy (a taken-down testimony must not outlive its takedown there), whatever
    `default_cache_ttl` the server was started with; static assets keep their caching. Inside,
    search.hardening."""

    async def gate(scope, receive, send):
        if scope["type"] != "http":  # the lifespan task lives as long as the server: no memo there
            return await app(scope, receive, send)
        static = scope.get("path", "").startswith("/-/static")

        async def send_uncached(message):
            if message["type"] == "http.response.start" and not static:
                headers = [h for h in message.get("headers", []) if h[0].lower() != b"cache-control"]
                message = dict(message, headers=[*headers, NO_CACHE])
            await send(message)

        token = _request_memo.set({})
        try:
            answer = refusals_alike(datasette, scope, receive, send_uncached)
            if static_archive_file(datasette, scope.get("path", "")):
                return await hardening.send_text(answer, 403, "403: archive files are not served as static files")
            if replaced_files(datasette):
                return await hardening.send_text(
                    send_uncached,
                    503,
                    "503: a database file this server serves was replaced or removed since it started (a new "
                    "publish to a deleted copy?): the server still has the old one open. Restart it.",
                )
            await hardening.serve(datasette, app, scope, receive, answer)
        finally:
            _request_memo.reset(token)

    return hardening.last_stop(gate)


def static_archive_file(datasette, path: str) -> bool:
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
            return archive_file((Path(folder) / path[len(prefix) :]).resolve())
    return False


WHOOSH_FILES = re.compile(r"(^_.*_\d+\.toc$|\.seg$|^GENERATION$|^VERSION$|_WRITELOCK$|^_MAIN_\d+\.toc$)")


def archive_file(target: Path) -> bool:
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


def replaced_files(datasette) -> list[str]:
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


async def on_startup(datasette) -> None:
    """Remember which files are served; warn on the console when a full archive has no login to open it."""
    replaced_files(datasette)
    full = await full_archives(datasette)
    login = (datasette.plugin_config("datasette-auth-passwords") or {}).get(f"{ARCHIVIST}_password_hash")
    if full and not login:
        print(locked_warning(datasette, full), file=sys.stderr)
