"""Keeping the served archive up and its log clear under hostile requests (the plugin's ASGI wrapper and
its `handle_exception` hook call in here).

- **Errors.** Every request is answered 404 (nothing there), 400 (a bad parameter) or, for what nobody
  foresaw, 500 with one line in the log: never Datasette's default handler, which prints a traceback with
  the local variables of every frame for each error (a 404 too) and fails outright on a path no route
  matches. Parameters Datasette would crash on (`_timelimit=abc`, `_through=x`, `_facet={`, ...) are
  refused with a 400 before it sees them.
- **CSV.** Every CSV response is rewritten as it streams so that no cell begins with a character a
  spreadsheet reads as a formula (OWASP's rule: such a cell gets a leading `'`).
- **Logins.** POSTs to the login (and to the password tool, which hashes too) are rate-limited per
  client and one at a time, answered 429 with Retry-After; the password is checked in a worker thread,
  so a wrong one never blocks the event loop.
"""

import asyncio
import base64
import ipaddress
import json
import logging
import math
import re
import sqlite3
import time
import urllib.parse
import weakref
from collections import OrderedDict

from datasette.database import QueryInterrupted
from datasette.utils import add_cors_headers, escape_sqlite, tilde_decode
from datasette.utils.asgi import BadRequest, Base400, Request, Response
from datasette.views.base import DatasetteError
from markupsafe import Markup

LOG = logging.getLogger("testimony.server")
LOG_TEXT_LIMIT = 200  # characters of a path or an exception message kept in the log line
INTERNAL_ERROR = "Internal error: the server could not answer this request. It has been logged."

# Raised by sqlite3 (or while binding a value for it) about a statement or a value the request supplied.
REQUEST_SQL_ERRORS = (
    "the query contains a null character",
    "You can only execute one statement at a time",
    "Incorrect number of bindings",
    "Error binding parameter",
    "You did not supply a value for binding parameter",
    "too large to convert to SQLite",
)
SQLITE_INTEGER_MAX = 2**63 - 1
BOOLEAN_PARAMETERS = ("_json_infinity",)
BOOLEAN_VALUES = {"on", "off", "true", "false", "1", "0"}
NUMERIC_FILTERS = ("gt", "gte", "lt", "lte")  # Datasette turns an all-digits value into an int for these
LIST_FILTERS = ("in", "notin")  # a value beginning `[` is read as a JSON list
# Datasette's own facet types, and the plugin's `index` (search.plugin.facets: SQL when it cannot count).
FACET_PARAMETERS = ("_facet", "_facet_array", "_facet_date", "_facet_index")

# CSV: a cell beginning with one of these is a formula (or becomes one) in Excel, LibreOffice and Sheets.
FORMULA_PREFIXES = frozenset(b"=+-@\t\r")
FORMULA_GUARD = b"'"
UTF8_BOM = b"\xef\xbb\xbf"

LOGIN_PATHS = ("/-/login", "/-/password-tool")  # datasette-auth-passwords hashes a password on both
LOGIN_BURST = 5  # attempts a client may make at once...
LOGIN_PER_MINUTE = 5  # ...and then this many a minute
LOGIN_BODY_LIMIT = 64 * 1024
LOGIN_BODY_TIMEOUT = 10.0  # seconds to send a login form: a slow sender cannot hold the login
LOGIN_CLIENTS_KEPT = 10_000  # clients remembered; the quietest are forgotten first
AUTH_PLUGIN = "datasette-auth-passwords"


# Errors


def one_line(text, limit: int = LOG_TEXT_LIMIT) -> str:
    """`text` escaped to printable characters (no newline, no terminal escape, no bidi control) and cut."""
    printable = "".join(c if c.isprintable() else ascii(c)[1:-1] for c in str(text))
    return printable if len(printable) <= limit else printable[: limit - 3] + "..."


def log_error(method: str, path: str, exception: BaseException, what: str = "500") -> None:
    LOG.error(
        "testimony: %s %s %s: %s: %s",
        what,
        one_line(method, 16),
        one_line(path),
        type(exception).__name__,
        one_line(exception),
    )


def error_status(exception: BaseException, request=None) -> int:
    """404 for nothing there, 400 for a request Datasette understood and refused, else 500."""
    if isinstance(exception, Base400):
        return exception.status
    if isinstance(exception, DatasetteError):
        # A row URL naming a table that is not there (Datasette runs the row's SQL unchecked), unless
        # the request's own SQL named it.
        if str(exception.message).startswith("no such table: ") and (request is None or "sql" not in request.args):
            return 404
        # Datasette raises DatasetteError only about the request (a column it cannot sort by, a
        # `_through` without a foreign key, `_sort` with `_sort_desc`), some with its default status 500.
        return exception.status if exception.status < 500 else 400
    if isinstance(exception, AssertionError) and str(exception) == POST_ONLY_TO_CANNED:
        return 405
    if isinstance(exception, QueryInterrupted):  # over sql_time_limit_ms: a 400 wherever Datasette catches it
        return 400
    if isinstance(exception, sqlite3.Error | OverflowError) and any(
        text in str(exception) for text in REQUEST_SQL_ERRORS
    ):
        return 400
    return 500


def error_message(exception: BaseException) -> tuple[str, str | None]:
    """What a 4xx page says, and its title."""
    if isinstance(exception, DatasetteError):
        message = exception.message
        return (Markup(message) if exception.message_is_html else message), exception.title  # noqa: S704 - Datasette's own markup
    if isinstance(exception, QueryInterrupted):
        return "SQL query took too long (the limit is the sql_time_limit_ms setting).", "SQL Interrupted"
    if isinstance(exception, Base400):
        return (str(exception.args[0]) if exception.args else ""), None
    if isinstance(exception, AssertionError):
        return "POST is only for canned queries that write.", None
    return str(exception), None


def error_response(datasette, request, exception: BaseException):
    """Datasette's error page (JSON for a .json path, else HTML) without its traceback; for a 500, one line
    in the log and nothing of the exception on the page."""
    status = error_status(exception, request)
    if status >= 500:
        log_error(request.method, request.path, exception)
        message, title = INTERNAL_ERROR, None
    else:
        message, title = error_message(exception)
    info = {"ok": False, "error": message, "status": status, "title": title}
    headers = {}
    if datasette.cors:
        add_cors_headers(headers)

    async def render():
        if request.path.endswith(".json"):
            return Response.json(info, status=status, headers=headers)
        try:
            template = datasette.jinja_env.select_template([f"{status}.html", "error.html"])
            page = await template.render_async(
                dict(info, urls=datasette.urls, app_css_hash=datasette.app_css_hash(), menu_links=lambda: [])
            )
        except Exception as error:  # noqa: BLE001 - the error page itself must not fail
            log_error(request.method, request.path, error, what="error page failed:")
            return Response.text(f"{status}: {message}", status=status, headers=headers)
        return Response.html(page, status=status, headers=headers)

    return render


DATABASE_CSV = re.compile(r"/[^/.]+\.csv")
TABLE_ROUTE = re.compile(r"/(?P<database>[^/.]+)/(?P<table>[^/.]+)(\.\w+)?")  # as Datasette's TableView
POST_ONLY_TO_CANNED = "You may only POST to a canned query"


def header_problem(scope) -> str | None:
    """Why Datasette would crash on this request's headers: datasette-auth-passwords decodes every
    `Authorization: Basic` header, and an undecodable one escapes as an exception."""
    authorization = dict(scope.get("headers") or []).get(b"authorization") or b""
    if authorization.startswith(b"Basic "):
        try:
            base64.b64decode(authorization.split(b"Basic ")[1]).decode("ascii")
        except ValueError:  # binascii.Error and UnicodeDecodeError are ValueErrors
            return "the Authorization header is not valid Basic credentials"
    return None


async def post_problem(datasette, route_path: str) -> str | None:
    """Why Datasette would crash on a POST: to a canned query that does not write (Datasette 0.65 fails
    building its answer). A POST to a table is caught by error_status."""
    found = TABLE_ROUTE.fullmatch(route_path)
    if not found:
        return None
    try:
        database = datasette.get_database(route=tilde_decode(found["database"]))
    except KeyError:
        return None  # Datasette answers 404
    query = await datasette.get_canned_query(database.name, tilde_decode(found["table"]), None)
    if query and not query.get("write"):
        return "this canned query only reads: use GET"
    return None


def parameter_problem(route_path: str, query_string: str) -> str | None:
    """Why Datasette would crash on this request's parameters (and answer 500), or None.

    Datasette 0.65 reads these with int(), json.loads() or a strict boolean and lets the error escape.
    """
    pairs = urllib.parse.parse_qsl(query_string, keep_blank_values=True)
    if DATABASE_CSV.fullmatch(route_path) and not any(name == "sql" and value for name, value in pairs):
        return "a database's CSV needs ?sql= (a table's CSV is /DATABASE/TABLE.csv)"
    for name, value in pairs:
        problem = _value_problem(name, value)
        if problem:
            return f"{one_line(name, 40)}: {problem}"
    return None


def _value_problem(name: str, value: str) -> str | None:
    if name == "_timelimit" and value and not _is_integer(value):
        return "must be a whole number of milliseconds"
    if name == "_facet_size" and value.isdigit() and not _is_integer(value):
        return "must be a whole number or max"
    if name == "_through":
        through = _json(value)
        if not (
            isinstance(through, dict)
            and all(isinstance(through.get(key), str) for key in ("table", "column"))
            and "value" in through
            and _is_sql_value(through["value"])
        ):
            return 'must be a JSON object {"table": ..., "column": ..., "value": ...}'
    if name.startswith("_facet") and value.startswith("{"):
        config = _json(value)
        if not (isinstance(config, dict) and isinstance(config.get("column") or config.get("simple"), str)):
            return 'must be a column name or a JSON object {"column": ...}'
    if name in BOOLEAN_PARAMETERS and value.lower() not in BOOLEAN_VALUES:
        return "must be on, off, true, false, 1 or 0"
    if "__" in name:  # a filter, column__operator=value
        operator = name.rsplit("__", 1)[1]
        if operator in NUMERIC_FILTERS and value.isdigit() and not _is_integer(value):
            return "is not a number SQLite can compare"
        if operator in LIST_FILTERS and value.startswith("["):
            values = _json(value)
            if not (isinstance(values, list) and all(_is_sql_value(item) for item in values)):
                return "must be a JSON list of strings and numbers"
    return None


def is_array_column(column: str) -> bool:
    """Whether the plugin's `index` facet counts this column as a JSON array (as Datasette's array facet)."""
    from .plugin.facets import COLUMNS  # the plugin imports this module

    return COLUMNS.get(column, (None, False))[1]


def facet_columns_checked(request, database: str, table: str, datasette):
    """For the table view's `filters_from_request`: a facet on a column the table does not have is a 400
    there, after Datasette's permission checks and before it runs the facet's SQL (which it would log in
    full, leaving the other facets' coroutines unawaited for Python to warn about)."""

    async def inner():
        wanted = []
        for name in FACET_PARAMETERS:
            for value in request.args.getlist(name):
                config = _json(value) if value.startswith("{") else {"simple": value}
                wanted.append(
                    (name, (config.get("column") or config.get("simple")) if isinstance(config, dict) else None)
                )
        if not wanted:
            return None
        db = datasette.get_database(database)
        columns = set(await db.table_columns(table)) | {"rowid"}
        for name, column in wanted:
            if column not in columns:
                raise BadRequest(f"{name}: {table} has no column {one_line(column, 60)!r} to facet by")
            if name == "_facet_array" or (name == "_facet_index" and is_array_column(column)):
                # its SQL fails on the first value that is not JSON
                quoted = escape_sqlite(column)
                not_json = f"{quoted} is not null and not json_valid({quoted})"
                sql = f"select 1 from {escape_sqlite(table)} where {not_json} limit 1"
                if (await db.execute(sql, log_sql_errors=False)).rows:
                    raise BadRequest(f"{name}: {one_line(column, 60)!r} holds values that are not JSON")
        return None

    return inner


def _json(text: str):
    try:
        return json.loads(text)
    except ValueError:
        return None


def _is_integer(text: str) -> bool:
    try:
        return abs(int(text)) <= SQLITE_INTEGER_MAX
    except ValueError:
        return False


def _is_sql_value(value) -> bool:
    if isinstance(value, int) and not isinstance(value, bool):
        return abs(value) <= SQLITE_INTEGER_MAX
    return value is None or isinstance(value, str) or (isinstance(value, float) and math.isfinite(value))


# CSV


def is_csv(route_path: str, headers) -> bool:
    """A CSV response: by its content type, its attachment's name, or (Datasette sends its .csv pages as
    text/plain so that a browser shows them) a text/plain answer to a .csv path."""
    found = {bytes(key).lower(): bytes(value).lower() for key, value in headers}
    content_type = found.get(b"content-type", b"").split(b";")[0].strip()
    disposition = found.get(b"content-disposition", b"")
    if content_type in (b"text/csv", b"application/csv"):
        return True
    if re.search(rb'filename\*?=[^;]*\.csv"?\s*(;|$)', disposition):
        return True
    return content_type == b"text/plain" and route_path.endswith(".csv")


class CsvNeutraliser:
    """Rewrites a CSV stream, chunk by chunk, so that no cell begins with a formula character.

    A cell beginning with `=`, `+`, `-`, `@`, a tab or a carriage return gets a `'` before that character
    (inside the quotes of a quoted cell), so a spreadsheet takes it as text; the quote stays in the value
    (`'=SUM(A1)`, and `'-3` is text, not a number). It follows
    the CSV structure Python's csv module writes (quoted cells holding commas, quotes and newlines;
    `\\r\\n` or `\\n` line ends) across any chunk boundary, byte by byte: every byte it looks for is
    ASCII, and in UTF-8 no byte of a multi-byte character is, so a character split between chunks is
    passed through untouched. It keeps no more than three bytes (a possible byte-order mark).
    """

    CELL_START, QUOTED_START, QUOTED, AFTER_QUOTE, UNQUOTED = range(5)
    UNQUOTED_END = re.compile(rb"[,\r\n]")

    def __init__(self):
        self.state = self.CELL_START
        self.head: bytes | None = b""  # the first bytes, until we know whether they are a byte-order mark

    def feed(self, data: bytes) -> bytes:
        out = bytearray()
        if self.head is not None:
            data = self.head + data
            if len(data) < len(UTF8_BOM) and UTF8_BOM.startswith(data):
                self.head = data
                return b""
            self.head = None
            if data.startswith(UTF8_BOM):
                out += UTF8_BOM
                data = data[len(UTF8_BOM) :]
        position, size = 0, len(data)
        while position < size:
            if self.state == self.CELL_START:
                byte = data[position]
                if byte == ord('"'):
                    self.state = self.QUOTED_START
                    out.append(byte)
                    position += 1
                elif byte in b",\r\n":  # an empty cell, or the end of a row
                    out.append(byte)
                    position += 1
                else:
                    if byte in FORMULA_PREFIXES:
                        out += FORMULA_GUARD
                    self.state = self.UNQUOTED
            elif self.state == self.QUOTED_START:
                if data[position] in FORMULA_PREFIXES:
                    out += FORMULA_GUARD
                self.state = self.QUOTED
            elif self.state == self.QUOTED:
                end = data.find(b'"', position)
                if end < 0:
                    out += data[position:]
                    break
                out += data[position : end + 1]
                position = end + 1
                self.state = self.AFTER_QUOTE
            elif self.state == self.AFTER_QUOTE:
                byte = data[position]
                if byte == ord('"'):  # "" inside a quoted cell: a quote, and the cell goes on
                    out.append(byte)
                    position += 1
                    self.state = self.QUOTED
                elif byte in b",\r\n":
                    out.append(byte)
                    position += 1
                    self.state = self.CELL_START
                else:  # not what csv writes; read on as an unquoted cell
                    self.state = self.UNQUOTED
            else:  # UNQUOTED
                found = self.UNQUOTED_END.search(data, position)
                if found is None:
                    out += data[position:]
                    break
                out += data[position : found.end()]
                position = found.end()
                self.state = self.CELL_START
        return bytes(out)

    def close(self) -> bytes:
        """What is still held back at the end of the stream."""
        head, self.head = self.head or b"", None
        return head


def neutralise_csv(text: str) -> str:
    """The whole of a CSV text neutralised (for tests and callers that hold the whole file)."""
    neutraliser = CsvNeutraliser()
    return (neutraliser.feed(text.encode("utf-8")) + neutraliser.close()).decode("utf-8")


# Logins


class LoginLimiter:
    """A token bucket per client (LOGIN_BURST attempts, refilled at LOGIN_PER_MINUTE), and one login
    checked at a time across all clients. Used from the event loop only."""

    def __init__(self, burst: int = LOGIN_BURST, per_minute: float = LOGIN_PER_MINUTE, clock=time.monotonic):
        self.burst = burst
        self.per_minute = per_minute
        self.rate = per_minute / 60.0
        self.clock = clock
        self.buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # client -> (tokens, when)
        self.busy = False

    def _tokens(self, client: str) -> float:
        tokens, when = self.buckets.get(client, (self.burst, self.clock()))
        return min(self.burst, tokens + (self.clock() - when) * self.rate)

    def take(self, client: str) -> float:
        """0 if `client` may try now (an attempt is counted), else the seconds until it may."""
        tokens = self._tokens(client)
        if tokens < 1:
            return (1 - tokens) / self.rate
        self.buckets[client] = (tokens - 1, self.clock())
        self.buckets.move_to_end(client)
        while len(self.buckets) > LOGIN_CLIENTS_KEPT:
            self.buckets.popitem(last=False)
        return 0.0

    def refund(self, client: str) -> None:
        """A successful login does not count."""
        if client in self.buckets:
            self.buckets[client] = (min(self.burst, self._tokens(client) + 1), self.clock())


_limiters: "weakref.WeakKeyDictionary[object, LoginLimiter]" = weakref.WeakKeyDictionary()


def limiter_for(datasette) -> LoginLimiter:
    """The instance's limiter; `login_burst` and `login_per_minute` in the plugin's configuration
    (`plugins: testimony:` in metadata) change its defaults."""
    if datasette not in _limiters:
        config = datasette.plugin_config("testimony") or {}
        _limiters[datasette] = LoginLimiter(
            burst=max(1, int(config.get("login_burst", LOGIN_BURST))),
            per_minute=max(0.01, float(config.get("login_per_minute", LOGIN_PER_MINUTE))),
        )
    return _limiters[datasette]


def client_key(scope) -> str:
    """The client's address; an IPv6 client by its /64, which one machine usually holds whole."""
    host = (scope.get("client") or ("unknown", 0))[0]
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return str(host)
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


async def read_body(receive, limit: int = LOGIN_BODY_LIMIT, timeout: float = LOGIN_BODY_TIMEOUT) -> bytes | int:
    """The request body, or the status to refuse it with (413 too long, 408 too slow, 400 gone)."""
    chunks, size = [], 0

    async def read():
        nonlocal size
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return 400
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > limit:
                return 413
            if not message.get("more_body", False):
                return None

    try:
        refused = await asyncio.wait_for(read(), timeout)
    except TimeoutError:
        return 408
    return refused or b"".join(chunks)


def replay(body: bytes, receive):
    sent = False

    async def receive_again():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return receive_again


async def checked_login_body(datasette, body: bytes) -> bytes:
    """The login form as datasette-auth-passwords will read it, with the password checked here, in a
    worker thread: a wrong password is handed on without its username, so the plugin answers "Invalid
    username or password" without hashing on the event loop (only the right one is hashed there)."""
    try:
        from datasette_auth_passwords.utils import verify_password
    except ImportError:
        return body
    fields = dict(urllib.parse.parse_qsl(body.decode("utf-8"), keep_blank_values=True))  # as Request.post_vars
    config = datasette.plugin_config(AUTH_PLUGIN) or {}
    accounts = {
        key.split("_password_hash")[0]: value for key, value in config.items() if key.endswith("_password_hash")
    }
    password_hash = accounts.get(fields.get("username") or "")
    if not password_hash:
        return body
    try:
        right = await asyncio.to_thread(verify_password, fields.get("password") or "", password_hash)
    except (ValueError, AssertionError):  # a malformed hash in the configuration: the plugin reports it
        return body
    if right:
        return body
    return urllib.parse.urlencode({**fields, "username": ""}).encode("utf-8")


# The ASGI layer


def route_path(datasette, scope) -> str:
    """The path Datasette routes on: the raw path (so `%2F` stays encoded), without the base_url."""
    raw = scope.get("raw_path")
    path = raw.decode("latin-1") if raw else scope.get("path", "")
    path = path.partition("?")[0]
    base_url = datasette.setting("base_url") or "/"
    if base_url != "/" and path.startswith(base_url):
        path = "/" + path[len(base_url) :]
    return path


async def send_text(send, status: int, text: str, headers: list | None = None) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"cache-control", b"no-cache"),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": text.encode("utf-8")})


async def too_many(send, seconds: float, text: str) -> None:
    wait = max(1, math.ceil(seconds))
    await send_text(send, 429, f"429: {text} Try again in {wait} s.", [(b"retry-after", str(wait).encode())])


async def serve(datasette, app, scope, receive, send) -> None:
    """Run one HTTP request through `app`: logins limited, requests Datasette would crash on refused,
    CSV answers neutralised."""
    path = route_path(datasette, scope)
    problem, status = header_problem(scope), 400
    if not problem and scope.get("method") == "POST" and path in LOGIN_PATHS:
        return await serve_login(datasette, app, scope, receive, send, path)
    problem = problem or parameter_problem(path, scope.get("query_string", b"").decode("latin-1"))
    if not problem and scope.get("method") == "POST":
        problem, status = await post_problem(datasette, path), 405
    if problem:
        refusal = BadRequest(problem)
        refusal.status = status
        response = await error_response(datasette, Request(scope, receive), refusal)()
        return await response.asgi_send(send)
    neutraliser = None

    async def send_neutralised(message):
        nonlocal neutraliser
        if message["type"] == "http.response.start":
            headers = message.get("headers") or []
            if message["status"] < 300 and is_csv(path, headers):
                neutraliser = CsvNeutraliser()
                # The length changes; without it the server sends the answer chunked.
                message = dict(message, headers=[h for h in headers if bytes(h[0]).lower() != b"content-length"])
        elif message["type"] == "http.response.body" and neutraliser is not None:
            body = neutraliser.feed(message.get("body", b""))
            if not message.get("more_body", False):
                body += neutraliser.close()
            message = dict(message, body=body)
        await send(message)

    await app(scope, receive, send_neutralised)


def last_stop(app):
    """`app` with any exception that escapes it answered 500 and logged in one line (the server would
    print a traceback), or, once the answer has begun, logged and the answer cut short."""

    async def guarded(scope, receive, send):
        if scope["type"] != "http":
            return await app(scope, receive, send)
        started = False

        async def send_watched(message):
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await app(scope, receive, send_watched)
        except Exception as error:  # noqa: BLE001 - the last stop before the server prints a traceback
            raw = scope.get("raw_path") or scope.get("path", "").encode("utf-8", "replace")
            path = raw.decode("latin-1").partition("?")[0]
            log_error(scope.get("method", ""), path, error, what="500" if not started else "500 (cut short)")
            if not started:
                await send_text(send, 500, f"500: {INTERNAL_ERROR}")

    return guarded


async def serve_login(datasette, app, scope, receive, send, path: str) -> None:
    """A POST to the login or the password tool: the form read whole first (so a slow sender holds
    nothing), then refused at once while another login is checked or when this client is over its limit;
    else checked (the password off the event loop) and handed to datasette-auth-passwords."""
    limiter = limiter_for(datasette)
    client = client_key(scope)
    body = await read_body(receive)
    if isinstance(body, int):
        return await send_text(send, body, f"{body}: the login form could not be read.")
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:  # Datasette would fail reading the form
        return await send_text(send, 400, "400: the login form is not UTF-8.")
    if limiter.busy:
        return await too_many(send, 1, "Another login is being checked.")
    wait = limiter.take(client)
    if wait:
        limit = f"at most {limiter.burst} at once, then {limiter.per_minute:g} a minute"
        return await too_many(send, wait, f"Too many login attempts from your address ({limit}).")
    limiter.busy = True
    status = None

    async def send_watched(message):
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        await send(message)

    try:
        if path == "/-/login":
            body = await checked_login_body(datasette, body)
        await app(scope, replay(body, receive), send_watched)
    finally:
        limiter.busy = False
        if path == "/-/login" and status == 302:  # logged in
            limiter.refund(client)
