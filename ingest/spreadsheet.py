"""CSV files: one testimony per row, grouped into sources, checked like any source file.

The header convention (column names are case-insensitive; `--map "Their header=field"` renames
others). Empty cells are absent values.

| column | field |
|---|---|
| `source_title`, `source_publisher`, `source_published` | the source (required); rows with the same |
| | source columns form one source |
| `source_url`, `source_language`, `source_note`, `source_tags` | optional source fields |
| `speaker` | required; a trailing * marks a pseudonym |
| `speaker_pseudonym` | optional: yes/no |
| `speaker_key` | optional: the archivist's key for the person (links a pseudonym across sources) |
| `role`, `text`, `language`, `date`, `location`, `visibility` | the testimony's fields |
| `tags` | the testimony's tags |
| `subject_name`, `subject_relationship`, `subject_status`, | the first subject; `subject2_name` ... for |
| `subject_since`, `subject_pseudonym`, `subject_key` | a second, and so on |

Lists (`tags`, `source_tags`) are separated by `;`. Errors name the row as a spreadsheet numbers it
(the header is row 1) and the column as the file spells it. Two columns for one field (`visibility`
and `Visibility`, `subject_name` and `subject1_name`, or a column that `--map` renames onto another)
are an error: the later one would silently win. Empty header cells are ignored.
"""

import csv
import io
import re
from pathlib import Path

from .normalize import NormalizedSource, normalize
from .source import (
    MAX_FILE_BYTES,
    InvalidSource,
    UnresolvedDraft,
    draft_problems,
    excerpt,
    read_text,
    validate_document,
)

SOURCE_COLUMNS = {
    "source_title": "title",
    "source_publisher": "publisher",
    "source_published": "published",
    "source_url": "url",
    "source_language": "language",
    "source_note": "note",
    "source_tags": "tags",
    "source_visibility": "visibility",
}
TESTIMONY_COLUMNS = {
    "speaker": "speaker",
    "speaker_pseudonym": "pseudonym",
    "speaker_key": "key",
    "role": "role",
    "text": "text",
    "language": "language",
    "date": "date",
    "location": "location",
    "tags": "tags",
    "visibility": "visibility",
}
SUBJECT_COLUMN = re.compile(r"^subject(\d*)_(name|relationship|status|since|pseudonym|key)$")
LIST_FIELDS = {"tags"}
BOOLEAN_FIELDS = {"pseudonym"}
TRUE, FALSE = {"yes", "y", "true", "1"}, {"no", "n", "false", "0"}


def known_field(name: str) -> bool:
    name = name.strip().lower()
    return name in SOURCE_COLUMNS or name in TESTIMONY_COLUMNS or bool(SUBJECT_COLUMN.match(name))


def field_key(field: str) -> str:
    """The field a column fills, one spelling per field: `subject1_name` and `subject01_name` are `subject_name`."""
    subject = SUBJECT_COLUMN.match(field)
    if subject:
        number = int(subject.group(1) or 1)
        return f"subject{'' if number == 1 else number}_{subject.group(2)}"
    return field


def _same_field(first: str, column: str, field: str, column_map: dict[str, str]) -> str:
    """Why two header cells cannot both stand: the later one would silently overwrite the earlier."""
    mapped = [spelled.strip() for spelled in (first, column) if spelled.strip().lower() in column_map]
    if mapped:
        why = " (after " + ", ".join(f"--map '{spelled}={column_map[spelled.lower()]}'" for spelled in mapped) + ")"
    elif first != column and first.strip().lower() == column.strip().lower():
        why = " (column names are case-insensitive)"
    else:
        why = ""
    return f"duplicate column: {excerpt(first)} and {excerpt(column)} are both {field_key(field)!r}{why}; keep one"


def parse_map(items: list[str]) -> dict[str, str]:
    """`["Quote=text", "Name=speaker"]` -> {"quote": "text", "name": "speaker"}; ValueError when malformed."""
    mapping = {}
    for item in items:
        column, sep, target = item.rpartition("=")
        if not sep or not column.strip() or not target.strip():
            raise ValueError(f"{item!r} is not of the form column=field")
        if not known_field(target):
            raise ValueError(f"{target.strip()!r} is not a CSV field (see the README's CSV columns)")
        mapping[column.strip().lower()] = target.strip().lower()
    return mapping


def _value(field: str, cell: str, path: Path, row_number: int, column: str):
    if field in LIST_FIELDS:
        return [item.strip() for item in cell.split(";") if item.strip()]
    if field in BOOLEAN_FIELDS:
        if cell.lower() in TRUE:
            return True
        if cell.lower() in FALSE:
            return False
        raise InvalidSource(path, f"row {row_number}, column {excerpt(column)}", f"{excerpt(cell)} is not yes or no")
    return cell


def load_csv(
    path: Path, column_map: dict[str, str] | None = None, max_bytes: int | None = None
) -> list[NormalizedSource]:
    """Read, validate and normalize a CSV file: one source per distinct set of source columns, in file order."""
    return csv_sources(path, read_text(path, max_bytes or MAX_FILE_BYTES), column_map)


def csv_sources(path: Path, text: str, column_map: dict[str, str] | None = None) -> list[NormalizedSource]:
    """A CSV file's text (see `source.decode_text`) validated and normalized, one source per distinct set of
    source columns, in file order."""
    column_map = column_map or {}
    # strict: a quote left open would otherwise swallow every row after it into one cell, silently.
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise InvalidSource(path, None, "file is empty") from None
    except csv.Error as error:
        raise InvalidSource(path, "row 1", f"invalid CSV: {error}") from None
    fields = []
    first_columns: dict = {}  # field_key(field) -> the column that first gave it
    for column in header:
        field = column_map.get(column.strip().lower(), column.strip().lower())
        if field and not known_field(field):
            where = f"row 1, column {excerpt(column)}"
            raise InvalidSource(path, where, "unknown column (rename it with --map COLUMN=FIELD)")
        if field and field_key(field) in first_columns:
            first = first_columns[field_key(field)]
            raise InvalidSource(path, f"row 1, column {excerpt(column)}", _same_field(first, column, field, column_map))
        first_columns[field_key(field)] = column
        fields.append(field)
    for required in ("source_title", "source_publisher", "source_published", "speaker", "text"):
        if required not in fields:
            raise InvalidSource(path, "row 1", f"no {required!r} column (rename one with --map COLUMN=FIELD)")

    documents: dict[tuple, dict] = {}
    numbers: dict[tuple, int] = {}  # source columns -> the document's index (a lookup, not a scan per row)
    where: dict[tuple[int, int], int] = {}  # (document index, testimony index) -> row number
    columns = dict(zip(map(field_key, fields), header, strict=True))
    try:
        for row_number, cells in enumerate(reader, start=2):
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) > len(fields):
                raise InvalidSource(path, f"row {row_number}", f"{len(cells)} cells but {len(fields)} columns")
            source, testimony, subjects = {}, {}, {}
            for field, column, cell in zip(fields, header, cells, strict=False):
                cell = cell.strip()
                if not cell or not field:
                    continue
                if field in SOURCE_COLUMNS:
                    key = SOURCE_COLUMNS[field]
                    source[key] = _value(key, cell, path, row_number, column)
                elif field in TESTIMONY_COLUMNS:
                    key = TESTIMONY_COLUMNS[field]
                    testimony[key] = _value(key, cell, path, row_number, column)
                else:
                    number, key = SUBJECT_COLUMN.match(field).groups()
                    subjects.setdefault(int(number or 1), {})[key] = _value(key, cell, path, row_number, column)
            speaker_fields = {name: testimony.pop(name) for name in ("pseudonym", "key") if name in testimony}
            if speaker_fields:
                testimony["speaker"] = {"name": testimony.get("speaker", ""), **speaker_fields}
            if subjects:
                testimony["subjects"] = [subjects[n] for n in sorted(subjects)]
            key = tuple(sorted((k, str(v)) for k, v in source.items()))
            document = documents.setdefault(key, {"source": source, "testimonies": []})
            number = numbers.setdefault(key, len(numbers))
            where[(number, len(document["testimonies"]))] = row_number
            document["testimonies"].append(testimony)
    except csv.Error as error:
        raise InvalidSource(path, f"row {reader.line_num}", f"invalid CSV: {error}") from None

    if not documents:
        raise InvalidSource(path, None, "no rows below the header")
    # Every source's unresolved placeholders at once, each its own line (validate_document stops at one source).
    unresolved = [
        (_location(field, index, where, columns), reason)
        for index, document in enumerate(documents.values())
        for field, reason in draft_problems(document)
    ]
    if unresolved:
        raise UnresolvedDraft(path, unresolved)
    normalized = []
    first_row: dict[str, int] = {}  # source id -> the first row of the group that gave it
    for index, document in enumerate(documents.values()):
        try:
            normalized.append(normalize(validate_document(path, document), path))
        except InvalidSource as error:
            raise _locate(error, index, where, columns) from None
        # Rows of one source (same URL, else publisher, title and date) that disagree on another source
        # column would be two sources with one id, and the later would silently replace the earlier: a
        # `source_visibility: restricted` on one row must never be lost to a public one.
        source_id, row = normalized[-1].source["id"], where[(index, 0)]
        if source_id in first_row:
            raise InvalidSource(
                path,
                f"row {row}",
                f"describes the same source as row {first_row[source_id]} (same url, else publisher, title and "
                "date) with different source columns: make every row of a source agree",
            )
        first_row[source_id] = row
    return normalized


def _locate(error: InvalidSource, index: int, where: dict, columns: dict[str, str]) -> InvalidSource:
    """testimonies[3].subjects[0].status -> row 5, column 'subject_status' (as the file names it)."""
    return InvalidSource(error.path, _location(error.where, index, where, columns), error.reason)


def _location(path: str | None, index: int, where: dict, columns: dict[str, str]) -> str | None:
    """The row and column (as the file names it) of a field path in the index-th source's document."""
    path = path or ""
    match = re.match(r"^testimonies\[(\d+)\](?:\.(\w+))?(?:\[(\d+)\])?(?:\.(\w+))?", path)
    if match:
        testimony, field, subject, subfield = match.groups()
        row = where.get((index, int(testimony)))
        if field == "subjects" and subject is not None and subfield:
            number = int(subject) + 1
            field = f"subject{'' if number == 1 else number}_{subfield}"
        elif field == "speaker":
            field = {"key": "speaker_key", "pseudonym": "speaker_pseudonym"}.get(subfield, "speaker")
        return f"row {row}" + (f", column {excerpt(columns.get(field, field))}" if field else "")
    if path.startswith("source"):
        field = path.split(".", 1)[1] if "." in path else None
        column = next((c for c, f in SOURCE_COLUMNS.items() if f == field), None)
        row = where.get((index, 0))
        return f"row {row}" + (f", column {excerpt(columns.get(column, column))}" if column else "")
    return path or None
