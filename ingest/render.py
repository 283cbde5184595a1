"""Everything the CLI prints: rich text for people, JSON for machines, from one place.

What reaches a terminal is never raw (see `terminal_safe`); JSON keeps exact values, with every control
escaped. File names and stored text are data, never rich markup.
"""

import json
import sys

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from .extract.draft import marked
from .source import unresolved_fields

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


def report(report, as_json: bool, verb: str) -> None:
    """An ingest or validate run (`report`: an ingest.load.Report)."""
    summary = report.summary()
    if as_json:
        emit_json(summary | {"index_repaired": report.index_repaired})
        return
    for line in summary["errors"]:
        err.print(Text(line, style="red"))
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


def snippet_text(hit: dict) -> Text:
    """A hit's snippet as terminal text, its matched words in bold, from the spans search returns. Made
    terminal-safe before rich sees it: rich would drop a \r or \b and shift every span after it; the
    stand-ins replace one character with one."""
    text = Text(terminal_safe(hit["snippet_text"]))
    for start, end in hit["marks"]:
        text.stylize("bold yellow", start, end)
    return text


def results(result, as_json: bool) -> None:
    """A search's answer (`result`: a search.api.SearchResult)."""
    if as_json:
        emit_json(result.to_dict())
        return
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
            f"{result.total} testimon{'y matches' if result.total == 1 else 'ies match'} {result.query!r} "
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


def takedown(report: dict, complete: bool, as_json: bool) -> None:
    if as_json:
        emit_json(report | {"complete": complete})
        return
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


def reindexed(count: int, index_dir, as_json: bool) -> None:
    if as_json:
        emit_json({"indexed": count})
    else:
        out.print(Text(f"Indexed {count} testimonies into {index_dir}"))


def verified(report: dict, as_json: bool) -> None:
    if as_json:
        emit_json(report)
        return
    if "repaired" in report:
        for problem in report["repaired"]["problems_before"]:
            out.print(Text(f"found: {problem}"))
        out.print(Text(f"repaired: {report['repaired']['documents']} index document(s) rewritten or removed"))
    for problem in report["problems"]:
        err.print(Text(problem, style="red"))
    state = "ok" if report["ok"] else "PROBLEMS"
    out.print(
        Text(
            f"{state}: {report['testimonies']} testimonies, {report['index_documents']} index documents, "
            f"generation {report['generation']['database']}/{report['generation']['index']} (database/index)"
        )
    )


def stats(summary: dict, index_dir, as_json: bool) -> None:
    if as_json:
        emit_json(summary)
        return
    table = Table("table", "rows", box=None)
    for name, count in summary["tables"].items():
        table.add_row(name, str(count))
    out.print(table)
    out.print(Text(f"people with a pseudonym: {summary['pseudonyms']}"))
    indexed = summary["index_documents"]
    out.print(Text(f"index documents: {indexed if indexed is not None else 'no index'} ({index_dir})"))


def draft(drafted, text: str, output, problem: str | None, as_json: bool) -> None:
    """A drafted source file: the YAML on stdout (unless written to `output`), what to review on stderr:
    the warnings, then each field still to resolve before the draft can be ingested."""
    open_fields = unresolved_fields(drafted.document)
    if as_json:
        emit_json(
            {
                "draft": marked(drafted),
                "warnings": drafted.warnings,
                "unresolved": [{"field": where, "question": question} for where, question in open_fields],
                "valid": problem is None,
                "problem": problem,
            }
        )
        return
    if not output:
        sys.stdout.write(text)
    for warning in drafted.warnings:
        err.print(Text(f"warning: {warning}", style="yellow"))
    testimonies = len(drafted.document.get("testimonies", []))
    summary = f"{testimonies} testimon{'y' if testimonies == 1 else 'ies'} drafted, {len(drafted.warnings)} warning(s)"
    err.print(Text(summary + (f" -> {output}" if output else "")))
    err.print(
        Text(
            f"to resolve before ingesting: {len(open_fields)} field(s)"
            + "".join(f"\n  {where}: {question}" for where, question in open_fields)
            + "\nthen delete the draft line"
        )
    )
    if problem:
        err.print(Text(f"the draft does not validate yet: {problem}", style="red"))


def published(counts: dict, public_db, as_json: bool) -> None:
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


def restored(result: dict, as_json: bool) -> None:
    if as_json:
        emit_json(result)
        return
    out.print(
        Text(
            f"Restored {len(result['restored']) + len(result['people'])}, cleared {len(result['cleared'])}; "
            "re-ingest their source files to bring them back."
        )
    )


def copies(listed: list[dict], db, as_json: bool) -> None:
    if as_json:
        emit_json(listed)
        return
    if not listed:
        out.print(Text(f"No public copy has been published from {db}."))
    for row in listed:
        state = "" if row["exists"] else "  MISSING"
        out.print(Text(f"{row['path']}  index {row['index_dir']}  published {row['published_at']}{state}"))


def forgot(record: dict, removed: str, as_json: bool) -> None:
    """A public copy `copies --forget` stopped tracking, and what of it was removed from disk."""
    if as_json:
        emit_json({"forgot": record, "removed": removed})
        return
    out.print(
        Text(
            f"Forgot {record['path']}: takedowns will no longer look for it."
            + (f" Removed {removed}." if removed else "")
        )
    )
