"""`testimony`: the archive's command line. Commands parse options, call one or two helpers, print.

Exit status: 0 when everything went in, 1 when some input failed (or, for verify, the stores
disagree), 2 for usage errors.
"""

import json
import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text
from testimony_archive.search import api as search_api
from testimony_archive.search import index as search_index

from . import crypto, load, spreadsheet, store
from .source import MAX_FILE_BYTES

app = typer.Typer(
    help="A testimony archive: ingest testimony files into SQLite and Whoosh, search them, serve them with Datasette.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
# What reaches a terminal is never raw: a stored ESC or OSC sequence could rewrite the screen (erase the
# "(pseudonym)" beside a name) or write the clipboard, a bidi control could reorder a line. Each such
# character is shown as a visible stand-in of the same width, so rich's styling spans stay in place:
# C0 controls as their Control Pictures symbol (ESC as ␛), DEL as ␡, C1 and bidi controls as �.
UNSAFE = {code: 0x2400 + code for code in range(0x20) if chr(code) not in "\t\n"} | {0x7F: 0x2421}
UNSAFE |= dict.fromkeys(
    [*range(0x80, 0xA0), 0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)], 0xFFFD
)
JSON_ESCAPES = {code: f"\\u{code:04x}" for code in UNSAFE if code >= 0x7F}


def terminal_safe(value):
    """A string or rich Text with every control and bidi character replaced by a visible stand-in."""
    if isinstance(value, str):
        return value.translate(UNSAFE)
    if isinstance(value, Text):
        safe = value.copy()
        safe.plain = value.plain.translate(UNSAFE)
        return safe
    return value


class SafeConsole(Console):
    def print(self, *objects, **options):
        super().print(*(terminal_safe(obj) for obj in objects), **options)


out = SafeConsole(highlight=False, soft_wrap=True)
err = SafeConsole(stderr=True, highlight=False, soft_wrap=True)


def emit_json(data) -> None:
    """Machine-readable output: exact data, with controls escaped (as JSON always does) and DEL, C1 and bidi
    controls escaped too, so the JSON is safe to look at in a terminal and parses to the same values."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2).translate(JSON_ESCAPES) + "\n")


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


def index_for(db: Path, index: Path | None) -> Path:
    return index if index is not None else search_index.index_dir_for(db)


def fail(message: str, code: int = 1):
    err.print(Text(f"Error: {message}"))
    raise typer.Exit(code)


def open_db(db: Path, mode: str = store.READ, key=None):
    """The archive at `db`, or one line and exit 2: read-only commands never create or migrate one."""
    try:
        return store.open_archive(db, mode, key)
    except store.NotAnArchive as error:
        fail(str(error), 2)
    except crypto.KeyProblem as error:
        fail(str(error), 2)
    except store.ArchiveBusy as error:
        fail(f"{error}: it is being written, try again in a moment")


def archive_key():
    """The archive key if there is one (commands that need it say so through KeyProblem)."""
    try:
        return crypto.load_key()
    except crypto.KeyProblem as error:
        fail(str(error), 2)


def file_progress():
    """A rich progress bar on a terminal; silent otherwise (CI logs, pipes)."""
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[name]}", markup=False),  # a file name is data, never markup
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )


def count_files(paths, follow_symlinks: bool = False):
    return sum(1 for _ in load.find_source_files(paths, follow_symlinks=follow_symlinks))


def run_with_progress(description: str, paths, work, follow_symlinks: bool = False):
    with file_progress() as progress:
        total = None if progress.disable else count_files(paths, follow_symlinks)
        task = progress.add_task(description, total=total, name="")

        def advance(path):
            progress.update(task, advance=1, name=str(path.name))

        return work(advance)


def csv_map(items: list[str] | None) -> dict[str, str]:
    try:
        return spreadsheet.parse_map(items or [])
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--map") from None


def print_report(report: load.Report, as_json: bool, verb: str) -> None:
    summary = report.summary()
    if as_json:
        emit_json(summary | {"index_repaired": report.index_repaired})
        return
    for failed in report.failed:
        err.print(Text(failed.error, style="red"))
    for withheld in summary["withheld_details"]:
        err.print(Text(f"withheld: {withheld['file']}:{withheld['testimony']}: {withheld['reason']}", style="yellow"))
    if verb == "ingest":
        line = (
            f"{summary['files']} file{'s' if summary['files'] != 1 else ''}: {summary['inserted']} inserted, "
            f"{summary['updated']} updated, {summary['unchanged']} unchanged, {summary['removed']} removed, "
            f"{summary['failed']} failed"
        )
        if summary["withheld"]:
            line += f", {summary['withheld']} withheld (taken down; see `testimony restore`)"
        if report.index_repaired:
            line += f" (index repaired first: {report.index_repaired} documents)"
    else:
        good = summary["files"] - summary["failed"]
        line = (
            f"{summary['files']} file{'s' if summary['files'] != 1 else ''}: {good} valid, {summary['failed']} invalid"
        )
    out.print(Text(line))


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
        )
    except (search_index.IndexBusy, store.ArchiveBusy) as error:
        fail(f"{error}; is another ingest, takedown or publish running?")
    except crypto.KeyProblem as error:
        fail(f"{error}; nothing was ingested", 2)
    print_report(report, as_json, "ingest")
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
    print_report(report, as_json, "validate")
    raise typer.Exit(report.exit_code)


@app.command()
def reindex(db: DbOption = Path("archive.db"), index: IndexOption = None, as_json: JsonOption = False):
    """Rebuild the Whoosh index from SQLite (the source of truth) and swap it in atomically."""
    archive = open_db(db)
    total = store.testimony_count(archive)
    with file_progress() as progress:
        task = progress.add_task("Indexing", total=total, name="")
        try:
            count = search_index.rebuild(archive, index_for(db, index), lambda n: progress.advance(task, n))
        except search_index.IndexBusy as error:
            fail(str(error))
    if as_json:
        emit_json({"indexed": count})
    else:
        out.print(f"Indexed {count} testimonies into {index_for(db, index)}")


@app.command()
def verify(
    db: DbOption = Path("archive.db"),
    index: IndexOption = None,
    repair: Annotated[bool, typer.Option("--repair", help="Bring the index back in line with SQLite.")] = False,
    as_json: JsonOption = False,
):
    """Check that SQLite is sound and each index holds every testimony exactly once (the full archive's
    published copies included); exit 1 if not."""
    from .verify import repair_all, verify_all

    archive = open_db(db)
    index_dir = index_for(db, index)
    report = verify_all(archive, index_dir)
    repaired = None
    if repair and not report["ok"]:
        try:
            repaired = repair_all(archive, index_dir, report)
        except search_index.IndexBusy as error:
            fail(str(error))
        before, report = report, verify_all(archive, index_dir)
        report["repaired"] = {"documents": repaired, "problems_before": before["problems"]}
    if as_json:
        emit_json(report)
    else:
        if repaired is not None:
            for problem in report["repaired"]["problems_before"]:
                out.print(Text(f"found: {problem}"))
            out.print(Text(f"repaired: {repaired} index document(s) rewritten or removed"))
        for problem in report["problems"]:
            err.print(Text(problem, style="red"))
        state = "ok" if report["ok"] else "PROBLEMS"
        out.print(
            Text(
                f"{state}: {report['testimonies']} testimonies, {report['index_documents']} index documents, "
                f"generation {report['generation']['database']}/{report['generation']['index']} (database/index)"
            )
        )
    raise typer.Exit(0 if report["ok"] else 1)


@app.command()
def stats(db: DbOption = Path("archive.db"), index: IndexOption = None, as_json: JsonOption = False):
    """Counts per table and the index's document count."""
    archive = open_db(db)
    # A public archive has no private tables at all (see `testimony publish`).
    counts = store.table_counts(archive)
    index_dir = index_for(db, index)
    summary = {
        "tables": counts,
        "pseudonyms": store.pseudonym_count(archive),
        "index_documents": search_index.doc_count(index_dir),
        "generation": {
            "database": search_index.db_generation(archive),
            "index": search_index.read_generation(index_dir),
        },
    }
    if as_json:
        emit_json(summary)
        return
    table = Table("table", "rows", box=None)
    for name, count in counts.items():
        table.add_row(name, str(count))
    out.print(table)
    out.print(f"people with a pseudonym: {summary['pseudonyms']}")
    indexed = summary["index_documents"]
    out.print(f"index documents: {indexed if indexed is not None else 'no index'} ({index_dir})")


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


def snippet_text(hit: dict) -> Text:
    """A hit's snippet as terminal text, its matched words in bold, from the spans search returns."""
    text = Text(hit["snippet_text"])
    for start, end in hit["marks"]:
        text.stylize("bold yellow", start, end)
    return text


def print_results(result: search_api.SearchResult) -> None:
    if result.unindexed:
        err.print(
            Text(
                f"note: {result.unindexed} testimonies are not in the search index yet and are missing from this "
                "answer (an ingest or takedown is under way; if none is, run `testimony verify --repair`)",
                style="yellow",
            )
        )
    if not result.total:
        out.print(Text(f"No testimonies match {result.query!r}."))
        return
    first = (result.page - 1) * result.page_size + 1
    out.print(
        Text(
            f"{result.total} testimon{'y' if result.total == 1 else 'ies'} match {result.query!r} "
            f"(showing {first}-{first + len(result.hits) - 1}, page {result.page} of {result.pages}, "
            f"{result.took_ms:.0f} ms)",
            style="bold",
        )
    )
    for number, hit in enumerate(result.hits, first):
        out.print()
        heading = Text(f"{number}. ")
        heading.append(hit["speaker_display"], style="bold")
        if hit["speaker_is_pseudonym"]:
            heading.append(" (pseudonym)", style="dim")
        heading.append(f" [{hit['role'] or 'role unknown'}] ")
        heading.append(f"{hit['source_title']}, {hit['publisher']}, {hit['published']}", style="italic")
        heading.append(f"  id {hit['id']}", style="dim")
        out.print(heading)
        out.print(Text("   ") + snippet_text(hit))
        for match in hit["matched_names"]:
            out.print(
                Text(
                    f"   name: {match['query']} matched {match['name']} ({match['field']}, {match['rule']})",
                    style="cyan",
                )
            )
    out.print()
    for name, counts in result.facets.items():
        if counts:
            shown = ", ".join(f"{value} ({count})" for value, count in list(counts.items())[:8])
            more = f", +{len(counts) - 8} more" if len(counts) > 8 else ""
            out.print(Text(f"{name}: {shown}{more}", style="dim"))


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
    except search_api.SearchError as error:
        fail(str(error), 2)
    except FileNotFoundError as error:
        fail(str(error), 2)
    if as_json:
        data = result.to_dict()
        emit_json(data)
    else:
        print_results(result)


@app.command()
def extract(
    source: Annotated[Path, typer.Argument(help="A press release or report: plain text, Markdown or HTML.")],
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write the draft here instead of printing it.", dir_okay=False)
    ] = None,
    publisher: Annotated[
        str | None, typer.Option("--publisher", help="The publisher, when the text does not say.")
    ] = None,
    url: Annotated[str | None, typer.Option("--url", help="Where the release was published.")] = None,
    as_json: JsonOption = False,
):
    """Draft a source file from a press release, for an archivist to review before ingesting."""
    from .extract import ExtractError, draft_to_yaml, extract_file
    from .normalize import normalize
    from .source import InvalidSource, validate_document

    try:
        draft = extract_file(source, publisher=publisher, url=url)
    except ExtractError as error:
        fail(f"{source}: {error}")
    problem = None
    try:
        normalize(validate_document(output or source, draft.document), output or source)
    except InvalidSource as error:
        problem = error.reason if not error.where else f"{error.where}: {error.reason}"
    text = draft_to_yaml(draft, source_name=source.name)
    if output:
        output.write_text(text, encoding="utf-8")
    if as_json:
        emit_json({"draft": draft.document, "warnings": draft.warnings, "valid": problem is None, "problem": problem})
    else:
        if not output:
            sys.stdout.write(text)
        for warning in draft.warnings:
            err.print(Text(f"warning: {warning}", style="yellow"))
        testimonies = len(draft.document.get("testimonies", []))
        summary = (
            f"{testimonies} testimon{'y' if testimonies == 1 else 'ies'} drafted, {len(draft.warnings)} warning(s)"
        )
        err.print(Text(summary + (f" -> {output}" if output else "")))
        if problem:
            err.print(Text(f"the draft does not validate yet: {problem}", style="red"))
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
    from . import privacy

    public_db = public_db or privacy.default_public_path(db)
    open_db(db).close()
    try:
        counts = privacy.publish(db, public_db, index, key=archive_key(), lock_timeout=lock_timeout)
    except store.ArchiveBusy as error:
        fail(f"{error}; is an ingest or a takedown running?")
    except ValueError as error:
        fail(str(error), 2)
    except (store.NotAnArchive, crypto.KeyProblem) as error:
        fail(str(error), 2)
    if as_json:
        emit_json({"public": str(public_db), **counts})
        return
    withheld = f", {counts['withheld']} withheld by takedowns" if counts["withheld"] else ""
    out.print(
        Text(
            f"Published {counts['testimonies']} testimonies from {counts['sources']} sources to {public_db} "
            f"(index: {counts['index_documents']} documents{withheld})"
        )
    )


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
    from . import privacy

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
    if as_json:
        emit_json(report | {"complete": complete})
    else:
        print_takedown(report)
    raise typer.Exit(0 if complete else 1)


def print_takedown(report: dict) -> None:
    if report["also_matching"]:
        out.print(
            Text(
                f"also taken down: {len(report['also_matching'])} other testimonies that match it (the same words "
                "elsewhere, or a templated text; --json lists them): `testimony restore ID` lets one through."
            )
        )
    reached = [c["path"] for c in report["copies"] if c["status"] == "done"]
    count = len(report["testimonies"])
    where = f"the full archive ({report['full']['path']})"
    if reached:
        where = f"{len(reached)} public cop{'y' if len(reached) == 1 else 'ies'} ({', '.join(reached)}), then " + where
    out.print(Text(f"Took down {count} testimon{'y' if count == 1 else 'ies'} from {where}."))
    for copy in report["copies"]:
        if copy["status"] != "done":
            err.print(
                Text(
                    f"Error: the public copy {copy['path']} was not reached: {copy['reason']}. The testimonies may "
                    f"still be public there. If it moved, run this takedown again with --public NEW_PATH; if it is "
                    f"gone for good, `testimony copies --forget {copy['path']}`.",
                    style="red",
                )
            )


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
    from . import privacy

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
    if as_json:
        emit_json(result)
    else:
        out.print(
            Text(
                f"Restored {len(result['restored']) + len(result['people'])}, cleared {len(result['cleared'])}; "
                "re-ingest their source files to bring them back."
            )
        )
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
    if forget is not None:
        from . import privacy

        if forget.exists():
            fail(
                f"{forget} is still there: a copy no takedown reaches would keep what is taken down. Delete it "
                "first (or move it and run a takedown with --public NEW_PATH).",
                2,
            )
        archive = open_db(db, store.WRITE)
        record = store.forget_copy(archive, forget)
        if record is None:
            fail(f"{forget} is not a recorded copy of {db}", 2)
        # What it leaves on disk (its index, a killed publish's leftovers) holds its words: it goes too.
        removed = privacy.remove_copy_files(Path(record["path"]), Path(record["index_dir"]))
        out.print(
            Text(
                f"Forgot {forget}: takedowns will no longer look for it." + (f" Removed {removed}." if removed else "")
            )
        )
        return
    archive = open_db(db)
    listed = [dict(row, exists=Path(row["path"]).is_file()) for row in store.published_copies(archive)]
    if as_json:
        emit_json(listed)
        return
    if not listed:
        out.print(Text(f"No public copy has been published from {db}."))
    for row in listed:
        state = "" if row["exists"] else "  MISSING"
        out.print(Text(f"{row['path']}  index {row['index_dir']}  published {row['published_at']}{state}"))


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
    out.print(Text(f"Wrote a new archive key to {key.path} (key id {key.id}). Back it up apart from the archive."))


@app.command("password-hash")
def password_hash():
    """Print a password hash for TESTIMONY_ARCHIVIST_PASSWORD_HASH (reads the password from stdin)."""
    from datasette_auth_passwords.utils import hash_password

    password = (
        sys.stdin.readline().rstrip("\n") if not sys.stdin.isatty() else typer.prompt("Password", hide_input=True)
    )
    if len(password) < 12:
        fail("use a password of at least 12 characters", 2)
    out.print(hash_password(password))


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
    from testimony_archive.search.serve import PASSWORD_ENV, make_datasette

    from . import privacy

    archive = open_db(db)
    login = bool(os.environ.get(PASSWORD_ENV))
    if privacy.is_full_archive(archive) and not login:
        held = ", ".join(f"{count} {name}" for name, count in store.sensitive_counts(archive).items() if count)
        fail(
            f"{db} is a full archive ({held or 'no restricted rows yet'}; it also keeps file paths, takedown "
            f"reasons and the audit log). Serve the public archive (testimony publish --db {db} --out public.db) "
            f"or set {PASSWORD_ENV} (testimony password-hash) to require a login.",
            2,
        )
    datasette = make_datasette(db, index_for(db, index), require_login=login)
    err.print(Text(f"Serving {db} on http://{host}:{port}/ (search: http://{host}:{port}/-/search)"))
    uvicorn.run(datasette.app(), host=host, port=port, log_level="warning")


def main():
    app()


if __name__ == "__main__":
    sys.exit(main())
