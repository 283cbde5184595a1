"""`testimony`: the archive's command line. Each command parses its options, calls one function and hands
what it returns to `render` (rich text, or JSON with --json).

Exit status: 0 when everything went in, 1 when some input failed (or, for verify, the stores
disagree), 2 for usage errors.
"""

import logging
import os
import sys
import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text
from testimony_archive.search import api as search_api
from testimony_archive.search import index as search_index
from testimony_archive.search.writing import BulkWriteFailed

from . import crypto, load, privacy, render, spreadsheet, store
from . import verify as checks
from .source import MAX_FILE_BYTES

app = typer.Typer(
    help="A testimony archive: ingest testimony files into SQLite and Whoosh, search them, serve them with Datasette.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
DbOption = Annotated[Path, typer.Option("--db", help="The archive's SQLite database.", dir_okay=False)]
IndexOption = Annotated[
    Path | None, typer.Option("--index", help="The Whoosh index folder [default: <db>.whoosh].", file_okay=False)
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
PathsArgument = Annotated[list[Path], typer.Argument(help="Source files or folders (searched recursively).")]
MapOption = Annotated[
    list[str] | None,
    typer.Option("--map", help="CSV only: read column COLUMN as FIELD, e.g. --map 'Quote=text'. Repeatable."),
]
MaxBytesOption = Annotated[
    int, typer.Option("--max-bytes", help="Refuse files larger than this many bytes.", min=1, show_default=True)
]
FollowSymlinksOption = Annotated[
    bool,
    typer.Option("--follow-symlinks", help="Read symlinks inside a folder that lead outside it (refused by default)."),
]


_log_handler: logging.Handler | None = None


@app.callback()
def options(
    log: Annotated[
        Path | None,
        typer.Option(
            "--log",
            envvar="TESTIMONY_LOG",
            dir_okay=False,
            help="Append what ingest, publish, takedown and restore do to this file: an audit trail of runs "
            "(ids, paths, counts; never a testimony's words or a private field).",
        ),
    ] = None,
):
    """A testimony archive: ingest testimony files into SQLite and Whoosh, search them, serve them with Datasette."""
    global _log_handler
    logger = logging.getLogger("testimony_archive")
    if _log_handler is not None:  # one handler per run, also when the CLI is run again in one process
        logger.removeHandler(_log_handler)
        _log_handler.close()
        _log_handler = None
    if log is None:
        return
    try:
        # Created readable by its owner alone: it names files (which often name people) and testimony ids.
        os.close(os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600))
        _log_handler = logging.FileHandler(log, encoding="utf-8")
    except OSError as error:
        fail(f"cannot write the log {log}: {error.strerror or error}", 2)
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%Y-%m-%dT%H:%M:%SZ")
    formatter.converter = time.gmtime
    _log_handler.setFormatter(formatter)
    logger.addHandler(_log_handler)
    logger.setLevel(logging.INFO)


def index_for(db: Path, index: Path | None) -> Path:
    return index if index is not None else search_index.index_dir_for(db)


def fail(message: str, code: int = 1):
    render.err.print(Text(f"Error: {message}"))
    raise typer.Exit(code)


def open_db(db: Path, mode: str = store.READ, key=None):
    """The archive at `db`, or one line and exit 2: read-only commands never create or migrate one.

    The one place a command checks its --db. Not typer's `exists=True`: that answers a usage box, and a
    file that exists may still be no archive (or a public one where a full one is needed); the store says
    which, in one line."""
    try:
        return store.open_archive(db, mode, key)
    except store.NotAnArchive as error:
        fail(str(error), 2)
    except crypto.KeyProblem as error:
        fail(str(error), 2)
    except store.ArchiveBusy as error:
        fail(f"{error}: it is being written, try again in a moment")


def index_failed(error: Exception) -> str:
    return f"the search index was not written ({error}); the records are safe in SQLite: run the same command again"


def archive_key():
    """The archive key if there is one (commands that need it say so through KeyProblem)."""
    try:
        return crypto.load_key()
    except crypto.KeyProblem as error:
        fail(str(error), 2)


def count_files(paths, follow_symlinks: bool = False):
    return sum(1 for _ in load.find_source_files(paths, follow_symlinks=follow_symlinks))


def run_with_progress(description: str, paths, work, follow_symlinks: bool = False, finishing: str | None = None):
    """Run `work(advance)` under a progress bar of the files found; `finishing` names what the work does once
    the last file is read (an ingest's index commit, minutes at a million testimonies), so the bar says so."""
    with render.file_progress() as progress:
        total = None if progress.disable else count_files(paths, follow_symlinks)
        task = progress.add_task(description, total=total, name="")
        done = 0

        def advance(path):
            nonlocal done
            done += 1
            progress.update(task, advance=1, name=str(path.name))
            if finishing and done == total:
                progress.update(task, description=finishing, name="")

        return work(advance)


def csv_map(items: list[str] | None) -> dict[str, str]:
    try:
        return spreadsheet.parse_map(items or [])
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--map") from None


@app.command()
def ingest(
    paths: PathsArgument,
    db: DbOption = Path("archive.db"),
    index: IndexOption = None,
    max_bytes: MaxBytesOption = MAX_FILE_BYTES,
    column_map: MapOption = None,
    lock_timeout: Annotated[
        float, typer.Option("--lock-timeout", help="Seconds to wait for another ingest to finish.", min=0)
    ] = search_index.LOCK_TIMEOUT,
    follow_symlinks: FollowSymlinksOption = False,
    as_json: JsonOption = False,
):
    """Ingest testimony source files (.yml, .yaml, .json, .csv) into the archive and its search index."""
    mapping = csv_map(column_map)
    key = archive_key()
    archive = open_db(db, store.CREATE, key)
    try:
        report = run_with_progress(
            "Ingesting",
            paths,
            lambda advance: load.ingest_paths(
                archive, index_for(db, index), paths, advance, max_bytes, lock_timeout, mapping, key, follow_symlinks
            ),
            follow_symlinks,
            finishing="Writing the search index",
        )
    except (search_index.IndexBusy, store.ArchiveBusy) as error:
        fail(f"{error}; is another ingest, takedown or publish running?")
    except crypto.KeyProblem as error:
        fail(f"{error}; nothing was ingested", 2)
    except BulkWriteFailed as error:
        fail(index_failed(error))
    render.report(report, as_json, "ingest")
    raise typer.Exit(report.exit_code)


@app.command()
def validate(
    paths: PathsArgument,
    max_bytes: MaxBytesOption = MAX_FILE_BYTES,
    column_map: MapOption = None,
    follow_symlinks: FollowSymlinksOption = False,
    as_json: JsonOption = False,
):
    """Check source files against the schema and normalization rules; writes nothing."""
    mapping = csv_map(column_map)
    report = run_with_progress(
        "Validating",
        paths,
        lambda advance: load.check_paths(paths, advance, max_bytes, mapping, follow_symlinks),
        follow_symlinks,
    )
    render.report(report, as_json, "validate")
    raise typer.Exit(report.exit_code)


@app.command()
def reindex(db: DbOption = Path("archive.db"), index: IndexOption = None, as_json: JsonOption = False):
    """Rebuild the Whoosh index from SQLite (the source of truth) and swap it in atomically."""
    archive = open_db(db)
    with render.file_progress() as progress:
        task = progress.add_task("Indexing", total=store.testimony_count(archive), name="")
        try:
            count = load.reindex(archive, db, index_for(db, index), lambda n: progress.advance(task, n))
        except (search_index.IndexBusy, store.ArchiveBusy) as error:
            fail(f"{error}; is an ingest, takedown or publish running?")
        except BulkWriteFailed as error:
            fail(index_failed(error))
    render.reindexed(count, index_for(db, index), as_json)


@app.command()
def verify(
    db: DbOption = Path("archive.db"),
    index: IndexOption = None,
    repair: Annotated[bool, typer.Option("--repair", help="Bring the index back in line with SQLite.")] = False,
    as_json: JsonOption = False,
):
    """Check that SQLite is sound and each index holds every testimony exactly once (the full archive's
    published copies included); exit 1 if not."""
    archive = open_db(db)
    try:
        report = checks.check(archive, index_for(db, index), repair)
    except search_index.IndexBusy as error:
        fail(str(error))
    except BulkWriteFailed as error:
        fail(index_failed(error))
    render.verified(report, as_json)
    raise typer.Exit(0 if report["ok"] else 1)


@app.command()
def stats(db: DbOption = Path("archive.db"), index: IndexOption = None, as_json: JsonOption = False):
    """Counts per table and the index's document count."""
    render.stats(checks.archive_stats(open_db(db), index_for(db, index)), index_for(db, index), as_json)


# An archivist's own searches may take longer than a public server's (see search.api.Budget).
CLI_TIME_LIMIT = 10.0


class Sort(StrEnum):
    relevance = "relevance"
    date = "date"


def parse_filters(filters: list[str]) -> dict[str, list[str]]:
    parsed: dict[str, list[str]] = {}
    for item in filters:
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise typer.BadParameter(f"{item!r} is not of the form field=value", param_hint="--filter")
        parsed.setdefault(name.strip().lower(), []).append(value.strip())
    return parsed


@app.command()
def search(
    query: Annotated[str, typer.Argument(help='Words, "phrases", field:value, prefix*, fuzzy~, date:[2018 TO 2020].')],
    db: DbOption = Path("archive.db"),
    index: IndexOption = None,
    limit: Annotated[int, typer.Option("--limit", help="Hits per page.", min=1, max=search_api.MAX_PAGE_SIZE)] = 20,
    page: Annotated[int, typer.Option("--page", help="Page of hits to show.", min=1)] = 1,
    filters: Annotated[
        list[str] | None,
        typer.Option("--filter", help="Narrow to a facet value, e.g. role=family or tags=Detention. Repeatable."),
    ] = None,
    sort: Annotated[Sort, typer.Option("--sort", help="Order of hits.")] = Sort.relevance,
    exact_names: Annotated[
        bool, typer.Option("--exact-names", help="Match names as written (accents folded), without spelling variants.")
    ] = False,
    time_limit: Annotated[
        float, typer.Option("--time-limit", help="Seconds the search may take before it is stopped.", min=0.01)
    ] = CLI_TIME_LIMIT,
    as_json: JsonOption = False,
):
    """Search testimonies: ranked hits with highlighted snippets, matched name variants and facet counts."""
    open_db(db).close()
    try:
        result = search_api.search(
            db,
            index_for(db, index),
            query,
            budget=search_api.Budget(time_limit=time_limit),
            filters=parse_filters(filters or []),
            sort=sort.value,
            page=page,
            page_size=limit,
            exact_names=exact_names,
        )
    except (search_api.SearchTimeout, search_api.SearchBusy) as error:
        fail(str(error), 1)
    except (search_api.SearchError, FileNotFoundError) as error:
        fail(str(error), 2)
    render.results(result, as_json)


@app.command()
def extract(
    source: Annotated[Path, typer.Argument(help="A press release or report: plain text, Markdown or HTML.")],
    output: Annotated[
        Path | None,
        typer.Option(
            "-o",
            "--output",
            help="Write the draft here instead of printing it (JSON if the name ends in .json, else YAML).",
            dir_okay=False,
        ),
    ] = None,
    publisher: Annotated[
        str | None, typer.Option("--publisher", help="The publisher, when the text does not say.")
    ] = None,
    url: Annotated[str | None, typer.Option("--url", help="Where the release was published.")] = None,
    as_json: JsonOption = False,
):
    """Draft a source file from a press release, for an archivist to review before ingesting."""
    from . import extract as extraction

    try:
        draft = extraction.extract_file(source, publisher=publisher, url=url)
    except extraction.ExtractError as error:
        fail(f"{source}: {error}")
    problem = extraction.problem(draft, output or source)
    as_json_file = output is not None and output.suffix.lower() == ".json"
    text = extraction.draft_to_json(draft) if as_json_file else extraction.draft_to_yaml(draft, source.name)
    if output:
        output.write_text(text, encoding="utf-8")
    render.draft(draft, text, output, problem, as_json)
    raise typer.Exit(1 if problem else 0)


@app.command()
def publish(
    db: DbOption = Path("archive.db"),
    public_db: Annotated[
        Path | None,
        typer.Option("--out", help="The public archive to write [default: public.db beside --db].", dir_okay=False),
    ] = None,
    index: Annotated[
        Path | None,
        typer.Option("--index", help="The public archive's index [default: <out>.whoosh].", file_okay=False),
    ] = None,
    lock_timeout: Annotated[
        float, typer.Option("--lock-timeout", help="Seconds to wait for an ingest or a takedown to finish.", min=0)
    ] = store.LOCK_TIMEOUT,
    as_json: JsonOption = False,
):
    """Build the public archive from the full one: public records only, no private fields, its own index."""
    public_db = public_db or privacy.default_public_path(db)
    open_db(db).close()
    try:
        counts = privacy.publish(db, public_db, index, key=archive_key(), lock_timeout=lock_timeout)
    except store.ArchiveBusy as error:
        fail(f"{error}; is an ingest or a takedown running?")
    except (ValueError, store.NotAnArchive, crypto.KeyProblem) as error:
        fail(str(error), 2)
    except BulkWriteFailed as error:
        fail(index_failed(error))
    render.published(counts, public_db, as_json)


@app.command()
def takedown(
    testimony_ids: Annotated[list[str] | None, typer.Argument(help="Ids of the testimonies to take down.")] = None,
    reason: Annotated[str, typer.Option("--reason", help="Why (kept in the tombstone and the audit log).")] = "",
    person: Annotated[
        str | None,
        typer.Option(
            "--person",
            help="Also take down every testimony by or about this person: an id, Name* (a pseudonym) or Name.",
        ),
    ] = None,
    db: DbOption = Path("archive.db"),
    index: IndexOption = None,
    public: Annotated[
        list[Path] | None,
        typer.Option(
            "--public",
            help="A public copy publish did not record (moved, or published by an older version). Repeatable.",
        ),
    ] = None,
    lock_timeout: Annotated[
        float, typer.Option("--lock-timeout", help="Seconds to wait for an ingest to finish.", min=0)
    ] = search_index.LOCK_TIMEOUT,
    as_json: JsonOption = False,
):
    """Remove testimonies from every published copy, then the full archive; leave a tombstone.

    Public copies first (each database in one transaction, then its index), then the full archive.
    Every copy `testimony publish` recorded is reached; one that cannot be is named, and the exit
    status is 1 until the takedown is run again successfully (see `testimony copies`).
    """
    if not reason.strip():
        fail("a takedown needs --reason", 2)
    key = archive_key()
    archive = open_db(db, store.WRITE, key)
    copies = privacy.copies_to_reach(archive, db, public or [])
    try:
        who = privacy.resolve_person(archive, person, copies) if person else None
        targets = privacy.resolve_targets(archive, testimony_ids or [], who, copies)
    except LookupError as error:
        fail(str(error), 2)
    if not targets and not who:
        fail("nothing to take down: give testimony ids or --person", 2)
    complete = True
    try:
        report = privacy.takedown(
            archive, db, index_for(db, index), targets, reason, key, who, public or [], lock_timeout=lock_timeout
        )
    except (search_index.IndexBusy, store.ArchiveBusy) as error:
        fail(f"{error}; nothing was taken down, try again when the other command has finished")
    except crypto.KeyProblem as error:
        fail(f"{error}; nothing was taken down", 2)
    except privacy.TakedownIncomplete as error:
        report, complete = error.report, False
    except BulkWriteFailed as error:
        # The public copies were reached (each catches its own); the full archive's rows are gone, its index
        # still holds their words on disk (search masks them) until a rebuild succeeds.
        fail(f"the full archive's index was not rebuilt ({error}): run the same takedown again")
    render.takedown(report, complete, as_json)
    raise typer.Exit(0 if complete else 1)


@app.command()
def restore(
    testimony_ids: Annotated[
        list[str] | None, typer.Argument(help="Ids of taken-down testimonies, or of testimonies a takedown withheld.")
    ] = None,
    reason: Annotated[str, typer.Option("--reason", help="Why (kept in the audit log).")] = "",
    person: Annotated[str | None, typer.Option("--person", help="Lift a person's takedown (id or name).")] = None,
    db: DbOption = Path("archive.db"),
    as_json: JsonOption = False,
):
    """Lift takedowns, so the next ingest of their source files brings the testimonies back.

    The id of a testimony that was withheld because it resembles a taken-down one (or names a taken-down
    person) lets that testimony alone through; the takedown itself stays.
    """
    if not reason.strip():
        fail("a restore needs --reason", 2)
    if not testimony_ids and not person:
        fail("nothing to restore: give testimony ids or --person", 2)
    key = archive_key()
    archive = open_db(db, store.WRITE, key)
    try:
        result = privacy.restore(archive, testimony_ids or [], reason, key, person)
    except (LookupError, crypto.KeyProblem) as error:
        fail(str(error), 2)
    except store.ArchiveBusy as error:
        fail(f"{error}; is an ingest, takedown or publish running?")
    render.restored(result, as_json)
    if result["unknown"]:
        fail(f"not taken down or withheld: {', '.join(result['unknown'])}")


@app.command()
def copies(
    db: DbOption = Path("archive.db"),
    forget: Annotated[
        Path | None, typer.Option("--forget", help="Stop tracking a copy that is gone for good.", dir_okay=False)
    ] = None,
    as_json: JsonOption = False,
):
    """List the public copies published from this archive (each takedown reaches every one of them)."""
    if forget is None:
        listed = [dict(row, exists=Path(row["path"]).is_file()) for row in store.published_copies(open_db(db))]
        render.copies(listed, db, as_json)
        return
    if forget.exists():
        fail(
            f"{forget} is still there: a copy no takedown reaches would keep what is taken down. Delete it "
            "first (or move it and run a takedown with --public NEW_PATH).",
            2,
        )
    try:
        record, removed = privacy.forget_copy(open_db(db, store.WRITE), forget)
    except LookupError as error:
        fail(f"{error} of {db}", 2)
    render.forgot(record, removed, as_json)


@app.command()
def keygen(
    path: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help=f"Where to write it [default: ${crypto.KEY_ENV}, else ~/.config/testimony/archive.key].",
            dir_okay=False,
        ),
    ] = None,
):
    """Create the archive key that encrypts private fields and takedown fingerprints (never overwrites one).

    Keep it outside the archive and back it up apart from it: lose it and the private fields are lost.
    """
    try:
        key = crypto.generate_key(path)
    except crypto.KeyProblem as error:
        fail(str(error), 2)
    render.out.print(
        Text(f"Wrote a new archive key to {key.path} (key id {key.id}). Back it up apart from the archive.")
    )


@app.command("password-hash")
def password_hash():
    """Print a password hash for TESTIMONY_ARCHIVIST_PASSWORD_HASH (reads the password from stdin)."""
    from datasette_auth_passwords.utils import hash_password

    password = (
        sys.stdin.readline().rstrip("\n") if not sys.stdin.isatty() else typer.prompt("Password", hide_input=True)
    )
    if len(password) < 12:
        fail("use a password of at least 12 characters", 2)
    render.out.print(hash_password(password))


@app.command()
def serve(
    db: DbOption = Path("archive.db"),
    index: IndexOption = None,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.", min=0, max=65535)] = 8001,
):
    """Serve an archive with Datasette: browsing, facets, exports and the ranked search page.

    The public archive (from `testimony publish`) is served to anyone. A full archive (what ingest writes)
    is refused unless TESTIMONY_ARCHIVIST_PASSWORD_HASH is set, and then every page requires a login.
    """
    import uvicorn
    from testimony_archive.search.serve import PASSWORD_ENV, make_datasette, refusal

    login = bool(os.environ.get(PASSWORD_ENV))
    refused = refusal(open_db(db), db, login)
    if refused:
        fail(refused, 2)
    datasette = make_datasette(db, index_for(db, index), require_login=login)
    render.err.print(Text(f"Serving {db} on http://{host}:{port}/ (search: http://{host}:{port}/-/search)"))
    uvicorn.run(datasette.app(), host=host, port=port, log_level="warning")


def main():
    app()


if __name__ == "__main__":
    sys.exit(main())
