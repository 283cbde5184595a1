"""Hostile files: an ingest folder an attacker (or an odd archive) filled. Each bad file gets one short,
escaped line naming it, nothing of it is written, and the run goes on: no traceback, no hang, the run
recorded with every file, the index matching SQLite afterwards.

The corpus is kept as files: `tests/fixtures/hostile/` (small text files, committed) plus the inputs
built at run time below (bytes, special files, symlinks, huge files, odd file names). Each has its
expected error beside it; the good files among them (`good-*`) look hostile and are data.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from testimony_archive.ingest import load, source, store
from testimony_archive.ingest.cli import app
from testimony_archive.ingest.source import InvalidSource, one_line, read_bytes

from .conftest import DATA, FIXTURES, ROOT, rows, write

HOSTILE = FIXTURES / "hostile"
TESTIMONY = [sys.executable, "-m", "testimony_archive.ingest.cli"]
# An error line shows at most a 60-character excerpt of a file; with the path, the place and the reason it
# stays well under this (the longest reason is a schema enum listed in full).
MAX_LINE = 600

# The committed corpus: file name -> its error, after the file's path.
FIXTURE_ERRORS = {
    # YAML: aliases, merge keys, tags, keys that are no names, syntax.
    "yaml-billion-laughs.yml": ":line 2: invalid YAML: YAML aliases (*name) are not allowed in source files",
    "yaml-alias.yml": ":line 4: invalid YAML: YAML aliases (*name) are not allowed in source files",
    "yaml-merge-key.yml": ":line 7: merge keys (<<) are not allowed in source files",
    "yaml-python-object.yml": ":line 2: invalid YAML: the tag '!!python/object/apply:os.system' is not allowed",
    "yaml-python-name.yml": ":line 7: invalid YAML: the tag '!!python/name:os.system' is not allowed",
    "yaml-include-tag.yml": ":line 2: invalid YAML: the tag '!include' is not allowed in a source file",
    "yaml-binary-tag.yml": ":source.title: b'hello world' is not of type 'string'",
    "yaml-set-tag.yml": ":source.tags: {",  # a set, in no fixed order
    "yaml-timestamp-tag.yml": ":line 4: invalid YAML: cannot read '2024-13-45' as '!!timestamp'",
    "yaml-int-tag.yml": ":line 4: invalid YAML: cannot read 'twenty twenty-four' as '!!int'",
    "yaml-duplicate-key.yml": ":line 8: duplicate key 'role' (first at line 7)",
    "yaml-complex-key.yml": ":line 8: invalid YAML: while constructing a mapping found unhashable key",
    "yaml-null-key.yml": ":source: the key None is not text: quote it",
    "yaml-bool-key.yml": ":testimonies[0]: the key True is not text: quote it",
    "yaml-number-key.yml": ":source: the key 2024 is not text: quote it",
    "yaml-tab-indent.yml": ":line 7: invalid YAML: while scanning a plain scalar found a tab character",
    "yaml-unclosed-flow.yml": ":line 9: invalid YAML: while parsing a flow mapping",
    "yaml-directive.yml": ":line 1: invalid YAML: found incompatible YAML document",
    "yaml-two-documents.yml": ":line 10: invalid YAML: expected a single document in the stream",
    "yaml-comment-only.yml": ":(top level): None is not of type 'object'",
    "yaml-null-document.yml": ":(top level): None is not of type 'object'",
    "yaml-nan-date.yml": ":source.published: nan is not a date of the form YYYY, YYYY-MM or YYYY-MM-DD",
    # Anchor-like text: aliases are looked for with libyaml's parser, which refuses the escape itself.
    "yaml-escaped-surrogate.yml": ":line 10: invalid YAML: while parsing a quoted scalar found invalid Unicode",
    "yaml-bom-in-key.yml": ":line 5: invalid YAML: while parsing a block mapping did not find expected key",
    # JSON: numbers JSON does not have, surrogates, odd keys, syntax.
    "json-nan.json": ":source.published: NaN is not a number JSON allows",
    "json-infinity.json": ":source.published: Infinity is not a number JSON allows",
    "json-negative-infinity.json": ":source.published: -Infinity is not a number JSON allows",
    "json-huge-exponent.json": ":source.published: inf is not a date of the form YYYY, YYYY-MM or YYYY-MM-DD",
    "json-lone-surrogate.json": ":testimonies[0].text: 'I saw the \\ud800 gates.' contains U+D800"
    " (a lone surrogate, not a character): remove it",
    "json-low-surrogate.json": ":testimonies[0].speaker: 'Perrin \\udc00Maud' contains U+DC00 (a lone surrogate",
    "json-surrogate-in-key.json": ":testimonies[0]: the key 'r\\ud800le' contains U+D800 (a lone surrogate",
    # A private value never reaches an error line, not even as an excerpt.
    "json-surrogate-in-private.json": ":testimonies[0].speaker.private.contact: a private value contains U+DBFF",
    "json-escaped-bell-in-key.json": ":testimonies[0]: unknown field 'role\\x07'",
    "json-duplicate-key.json": ":line 4: duplicate key 'role' (first at line 4)",
    "json-trailing-comma.json": ":line 4: invalid JSON: Expecting property name enclosed in double quotes",
    "json-comment.json": ":line 1: invalid JSON: Expecting value",
    "json-single-quotes.json": ":line 4: invalid JSON: Expecting value",
    "json-top-level-list.json": ":(top level): this list is not of type 'object'",
    "json-top-level-string.json": ":(top level): 'just a string' is not of type 'object'",
    "json-unterminated-string.json": ":line 4: invalid JSON: Invalid control character at",
    # The schema: wrong types everywhere, unknown fields, values out of their vocabulary.
    "schema-source-is-list.yml": ":source: this list is not of type 'object'",
    "schema-testimonies-is-mapping.yml": ":testimonies: this mapping is not of type 'array'",
    "schema-testimonies-empty.yml": ":testimonies: [] should be non-empty",
    "schema-speaker-is-number.yml": ":testimonies[0].speaker: 42 is not of type 'string', 'object'",
    "schema-speaker-is-list.yml": ":testimonies[0].speaker: this list is not of type 'string', 'object'",
    "schema-text-is-number.yml": ":testimonies[0].text: 3 is not of type 'string'",
    "schema-text-is-null.yml": ":testimonies[0].text: None is not of type 'string'",
    "schema-text-blank.yml": ":testimonies[0].text: '   ' is empty",
    "schema-role-unknown.yml": ":testimonies[0].role: 'admin' is not one of: family, survivor, witness",
    "schema-status-unknown.yml": ":testimonies[0].subjects[0].status: 'fine' is not one of: detained,",
    "schema-relationship-unknown.yml": ":testimonies[0].subjects[0].relationship: 'landlord' is not one of: self,",
    "schema-subjects-is-string.yml": ":testimonies[0].subjects: 'Aldo Verrin' is not of type 'array'",
    "schema-pseudonym-is-string.yml": ":testimonies[0].speaker.pseudonym: 'yes' is not of type 'boolean'",
    "schema-tags-is-string.yml": ":source.tags: 'detention, market' is not of type 'array'",
    "schema-tag-empty.yml": ":source.tags[1]: '' is empty",
    "schema-visibility-secret.yml": ":testimonies[0].visibility: 'secret' is not one of: public, restricted",
    "schema-language-bad.yml": ":source.language: 'english!' is not of the expected form",
    "schema-url-javascript.yml": ":source.url: 'javascript:alert(1)' is not an http(s) URL",
    "schema-url-file.yml": ":source.url: 'file:///etc/passwd' is not an http(s) URL",
    "schema-person-key-path.yml": ":testimonies[0].speaker.key: '../../etc/passwd' is not of the expected form",
    "schema-private-unknown-field.yml": ":testimonies[0].speaker.private: unknown field 'passport_number'",
    "schema-private-not-text.yml": ":testimonies[0].speaker.private.notes: a private value is not of type 'string'",
    "schema-missing-title.yml": ":source: 'title' is required",
    "schema-missing-speaker.yml": ":testimonies[0]: 'speaker' is required",
    "schema-unknown-top-level-field.yml": ":(top level): unknown field 'comments'",
    "schema-unknown-source-field.yml": ":source: unknown field 'publised'",
    "schema-unknown-subject-field.yml": ":testimonies[0].subjects[0]: unknown field 'age'",
    "schema-many-unknown-fields.yml": ":testimonies[0]: unknown fields 'colour', 'height', 'mood' and 1 more",
    "schema-duplicate-testimony.yml": ":testimonies[1]: duplicates testimonies[0] (same speaker and text)",
    # Dates.
    "date-february-30.yml": ":source.published: '2025-02-30' is not a real date",
    "date-month-13.yml": ":source.published: '2025-13' is not a real date",
    "date-month-00.yml": ":source.published: '2025-00' is not a real date",
    "date-year-0000.yml": ":source.published: '0000' is not a real date",
    "date-words.yml": ":source.published: 'last spring' is not a date of the form YYYY, YYYY-MM or YYYY-MM-DD",
    "date-three-digit-year.yml": ":source.published: 999 is not a date of the form",
    "date-with-time.yml": ":source.published: '2024-05-28T10:00:00Z' is not a date of the form",
    "date-negative.yml": ":source.published: -2024 is not a date of the form",
    # Names: invisible characters, misplaced stars, no letter.
    "name-zero-width-space.yml": ":testimonies[0].speaker: 'Mira\\u200b Tovash' contains U+200B ZERO WIDTH SPACE",
    "name-right-to-left-override.yml": ":testimonies[0].speaker: 'Mira Tovash\\u202e' contains U+202E RIGHT-TO-LEFT",
    "name-soft-hyphen.yml": ":testimonies[0].subjects[0].name: 'Al\\xaddo Verrin' contains U+00AD SOFT HYPHEN",
    "name-private-use.yml": ":testimonies[0].speaker: 'Mira Tovash\\ue000' contains U+E000 (a private-use",
    "name-star-inside.yml": ":testimonies[0].speaker: 'Mi*ra Tovash': a * inside a name is ambiguous",
    "name-no-letter.yml": ":testimonies[0].speaker: '1999' is not a name: it has no letter",
    "name-ends-with-heart.yml": ":testimonies[0].speaker: 'Mira Tovash♥' ends with U+2665 BLACK HEART SUIT",
    "name-pseudonym-conflict.yml": ":testimonies[0].speaker.name: pseudonym is false but the name is marked with *",
    # CSV.
    "csv-ragged-long-row.csv": ":row 3: 8 cells but 6 columns",
    "csv-ragged-short-row.csv": ":row 3: 'text' is required",
    "csv-duplicate-columns.csv": ":row 1, column 'text': duplicate column: 'text' and 'text' are both 'text'",
    "csv-duplicate-columns-case.csv": ":row 1, column 'Role': duplicate column: 'role' and 'Role' are both 'role'",
    "csv-unknown-column.csv": ":row 1, column 'shoe_size': unknown column",
    "csv-missing-text-column.csv": ":row 1: no 'text' column",
    "csv-bad-pseudonym-flag.csv": ":row 2, column 'speaker_pseudonym': 'maybe' is not yes or no",
    "csv-bad-date.csv": ":row 2, column 'source_published': '2024-02-31' is not a real date",
    "csv-unterminated-quote.csv": ":row 3: invalid CSV: unexpected end of data",
    "csv-text-after-closing-quote.csv": ":row 2: invalid CSV: ',' expected after '\"'",
    "csv-one-source-two-visibilities.csv": ":row 3: describes the same source as row 2",
    "csv-invisible-name.csv": ":row 2, column 'speaker': 'Perrin\\u200b Maud' contains U+200B ZERO WIDTH SPACE",
    "csv-header-only.csv": ": no rows below the header",
    "csv-bad-role.csv": ":row 2, column 'role': 'hacker' is not one of: family,",
}
# Hostile-looking files that are data: they go in, verbatim.
GOOD_FIXTURES = {
    "good-formula-cells.csv": "Formula-looking cells",
    "good-bom.csv": "A CSV with a BOM",
    "good-markup-names.yml": "Names that look like code <script>alert(1)</script>",
    "good-anchor-like-text.yml": "Bread & salt",
    "good-right-to-left-text.yml": "Right-to-left words",
    "good-surrogate-pair.json": "A surrogate pair is one character",
    # Testimony text is kept verbatim: a control character written as an escape is data (whatever prints it
    # escapes it); a raw one is refused with the file's line (see GENERATED).
    "good-escaped-esc.yml": "An escaped control character is data",
    "good-escaped-esc.json": "Escaped colours are data",
    "good-escaped-nul.json": "An escaped NUL is data",
}

GOOD_YAML = """\
source:
  title: {title}
  publisher: Invented Rights Watch
  published: 2023
testimonies:
  - speaker: Ines Varga
    role: witness
    text: {text}
"""


def good_yaml(title="Generated fixture", text="The gates closed at dusk.") -> str:
    return GOOD_YAML.format(title=title, text=text)


def put(data: bytes | str):
    """A builder that writes `data` (text as UTF-8) to the path it is given."""
    return lambda path: path.write_bytes(data.encode() if isinstance(data, str) else data)


def sparse(size: int):
    def build(path):
        with open(path, "wb") as handle:
            handle.truncate(size)

    return build


def fifo(path):
    os.mkfifo(path)


def unix_socket(path):
    # A socket's path may be at most 108 bytes: bind by a short relative name from inside the folder.
    here = os.getcwd()
    os.chdir(path.parent)
    try:
        with socket.socket(socket.AF_UNIX) as listener:
            listener.bind(path.name)
    finally:
        os.chdir(here)


def link(target):
    return lambda path: path.symlink_to(target)


def deep_yaml_block(levels: int) -> str:
    return "source:\n" + "".join("  " * level + f"k{level}:\n" for level in range(1, levels)) + "  " * levels + "x\n"


BIG_NUMBER = "9" * 5000
SEXAGESIMAL_BOMB = ":".join(["59"] * 3000)
LONG_TAG = "!" + "t" * 10_000
LONG_KEY = "k" * 1_000_000
CSV_HEADER = "source_title,source_publisher,source_published,speaker,text\n"
# A file as /etc/passwd would be, with invented accounts.
PASSWD_LIKE = "".join(
    f"{user}:x:{uid}:{uid}:{user}:/home/{user}:/bin/sh\n" for uid, user in enumerate(["orsolya", "perrin", "tamsin"])
)

OUTSIDE = ": symlink leads outside <folder> (to {}): not read (--follow-symlinks reads it)"

# Built at run time: file name -> (builder, its error after the file's path).
GENERATED = {
    # Encodings.
    "utf16-bom.yml": (put(good_yaml().encode("utf-16")), ": not UTF-8 text (it starts with a UTF-16 byte-order mark)"),
    "utf16-be-bom.json": (put(b"\xfe\xff" + b'{"a": 1}'.decode().encode("utf-16-be")), ": not UTF-8 text (it starts"),
    "utf32-bom.yml": (put(good_yaml().encode("utf-32")), ": not UTF-8 text (it starts with a UTF-32 byte-order mark)"),
    "utf16-no-bom.yml": (put(good_yaml().encode("utf-16-le")), ":line 1: a NUL byte: not a text file"),
    "latin1.yml": (put(good_yaml(title="Caf\xe9 hearing").encode("latin-1")), ":line 2: not UTF-8 text (byte 0xe9)"),
    "cp1252-quotes.csv": (put(CSV_HEADER.encode() + b"T,P,2024,Ines,\x93quoted\x94\n"), ":line 2: not UTF-8 text (byte 0x93)"),
    "overlong-slash.yml": (put(good_yaml(text="a \xc0\xaf b").encode("latin-1")), ":line 8: not UTF-8 text (byte 0xc0)"),
    "overlong-nul.json": (put(b'{"source": "\xc0\x80"}'), ":line 1: not UTF-8 text (byte 0xc0)"),
    "encoded-surrogate.yml": (put(good_yaml().encode().replace(b"dusk", b"\xed\xa0\x80")), ":line 8: not UTF-8 text (byte 0xed)"),
    "truncated-utf8.yml": (put(good_yaml().encode() + b"# \xe2\x82"), ":line 9: not UTF-8 text (byte 0xe2)"),
    "bom-in-the-middle.json": (put('{"source": "\ufeff", \ufeff"testimonies": []}'), ":line 1: invalid JSON: Expecting property name"),
    "nul-byte.yml": (put(good_yaml(text="The gates\x00 closed.")), ":line 8: a NUL byte: not a text file"),
    "nul-in-json-string.json": (put('{"source": "a\x00b"}'), ":line 1: a NUL byte: not a text file"),
    "nul-in-csv.csv": (put(CSV_HEADER + "T,P,2024,Ines,wo\x00rds\n"), ":line 2: a NUL byte: not a text file"),
    "binary-junk.yml": (put(bytes(range(256)) * 64), ":line 2: not UTF-8 text (byte 0x80)"),
    "png-image.json": (put(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64)), ":line 1: not UTF-8 text (byte 0x89)"),
    "gzip-archive.yml": (put(b"\x1f\x8b\x08\x00" + bytes(32)), ":line 1: not UTF-8 text (byte 0x8b)"),
    "zip-archive.yml": (put(b"PK\x03\x04\x14\x00" + b"x" * 32), ":line 1: control character U+0003 is not allowed"),
    "elf-binary.json": (put(b"\x7fELF\x02\x01\x01" + b"\x00" * 9), ":line 1: control character U+007F"),
    # Raw control characters (a terminal would act on them).
    "raw-escape-sequence.yml": (put(good_yaml(text="\x1b[2J\x1b[Hcleared")), ":line 8: control character U+001B"),
    "raw-osc52-clipboard.yml": (put(good_yaml(text="\x1b]52;c;b3duZWQ=\x07")), ":line 8: control character U+001B"),
    "raw-bell.csv": (put(CSV_HEADER + "T,P,2024,Ines,ring\x07\n"), ":line 2: control character U+0007"),
    "raw-backspace.json": (put('{"source": "a\x08b"}'), ":line 1: control character U+0008"),
    "raw-delete.yml": (put(good_yaml(text="gone\x7f")), ":line 8: control character U+007F"),
    "raw-c1-csi.yml": (put(good_yaml(text="\x9b31mred")), ":line 8: control character U+009B"),
    "raw-form-feed.csv": (put(CSV_HEADER + "T,P,2024,Ines,page\x0cbreak\n"), ":line 2: control character U+000C"),
    "noncharacter.yml": (put(good_yaml(text="end\ufffe")), ":line 8: invalid YAML: character U+FFFE is not allowed"),
    "raw-vertical-tab.yml": (put(good_yaml(text="a\x0bb")), ":line 8: control character U+000B"),
    # Empty.
    "empty.yml": (put(b""), ": file is empty"),
    "whitespace-only.json": (put(" \n\t\n   \n"), ": file is empty"),
    "bom-only.yml": (put("\ufeff"), ": file is empty"),
    "empty.csv": (put(b""), ": file is empty"),
    "line-ends-only.csv": (put("\r\n\r\n"), ": file is empty"),
    # Big, deep, long.
    "over-the-size-limit.yml": (sparse(21 * 1024 * 1024), ": file is 22,020,096 bytes, over the limit of 20,971,520"),
    "deep-json-lists.json": (put("[" * 100_000 + "]" * 100_000), ": nested deeper than 32 levels"),
    "deep-json-objects.json": (put('{"a": ' * 40 + "1" + "}" * 40), ": nested deeper than 32 levels"),
    "deep-yaml-flow.yml": (put("source: " + "[" * 5000 + "]" * 5000 + "\n"), ": nested deeper than 32 levels"),
    "deep-yaml-block.yml": (put(deep_yaml_block(40)), ": nested deeper than 32 levels"),
    "number-5000-digits.json": (
        put(f'{{"source": {{"published": {BIG_NUMBER}}}, "testimonies": []}}'),
        ":source.published: a number of 5,000 digits is too long to read (at most 100)",
    ),
    "number-long-float.json": (
        put(f'{{"source": {{"published": {"1" * 200}.5}}, "testimonies": []}}'),
        ":source.published: a number of 201 digits is too long to read (at most 100)",
    ),
    "number-5000-digits.yml": (
        put(good_yaml().replace("published: 2023", f"published: {BIG_NUMBER}")),
        ":line 4: invalid YAML: a number of 5,000 digits is too long to read (at most 100)",
    ),
    "number-sexagesimal-bomb.yml": (
        put(good_yaml().replace("published: 2023", f"published: {SEXAGESIMAL_BOMB}")),
        ":line 4: invalid YAML: a number of 6,000 digits is too long to read (at most 100)",
    ),
    # A long value is shown as its first characters: a 60-character excerpt, quotes and "..." included.
    "title-over-max-length.yml": (
        put(good_yaml(title="t" * 2001)), f":source.title: '{'t' * 55}...' is longer than 2000 characters"
    ),
    "name-over-max-length.yml": (
        put(good_yaml().replace("Ines Varga", "n" * 301)),
        f":testimonies[0].speaker: '{'n' * 55}...' is longer than 300 characters",
    ),
    "huge-unknown-key.json": (put(f'{{"{LONG_KEY}": 1}}'), f":(top level): unknown field '{'k' * 55}...' (and 2"),
    "huge-tag.yml": (put(f"source: {LONG_TAG} x\n"), f":line 1: invalid YAML: the tag '!{'t' * 54}...' is not allowed"),
    "huge-csv-cell.csv": (
        put(CSV_HEADER + "T,P,2024,Ines," + "w" * 200_000 + "\n"),
        ":row 2: invalid CSV: field larger than field limit (131072)",
    ),
    "huge-csv-header.csv": (put("h" * 10_000 + "\nx\n"), f":row 1, column '{'h' * 55}...': unknown column"),
    "passwd-like.yml": (put(PASSWD_LIKE), ":(top level): 'orsolya:x:0:0:orsolya:/home/orsolya:/bin/sh perrin:x:1:...' is not"),
    # Special files: never opened, never waited on.
    "fifo.yml": (fifo, ": is a FIFO (named pipe), not a regular file: not read"),
    "socket.json": (unix_socket, ": is a socket, not a regular file: not read"),
    "link-to-fifo.yml": (link("fifo.yml"), ": is a FIFO (named pipe), not a regular file: not read"),
    # Symlinks: outside the folder named on the command line is refused; loops and dead links are reported.
    "dev-zero.yml": (link("/dev/zero"), OUTSIDE.format(os.path.realpath("/dev/zero"))),
    "dev-urandom.json": (link("/dev/urandom"), OUTSIDE.format(os.path.realpath("/dev/urandom"))),
    "dev-null.csv": (link("/dev/null"), OUTSIDE.format(os.path.realpath("/dev/null"))),
    "etc-passwd.yml": (link("/etc/passwd"), OUTSIDE.format(os.path.realpath("/etc/passwd"))),
    "outside-good-file.yml": (link("../outside/good.yml"), OUTSIDE.format("<tmp>/outside/good.yml")),
    "outside-folder": (link("../outside"), OUTSIDE.format("<tmp>/outside")),
    "loop": (link("."), ": symlink loop: folder already visited, skipped"),
    "self-loop.yml": (link("self-loop.yml"), ": cannot read file: Too many levels of symbolic links"),
    "dead-link.yml": (link("nowhere.yml"), ": cannot read file: No such file or directory"),
    # File names a terminal would act on, or that are not UTF-8.
    "new\nline.yml": (put(good_yaml(title="Newline name")), ": file name contains U+000A (a control character)"),
    "escape\x1b[31m.yml": (put(good_yaml(title="Escape name")), ": file name contains U+001B (a control character)"),
    "report\u202elmy.yml": (put(good_yaml(title="RLO name")), ": file name contains U+202E (a bidirectional control"),
    os.fsdecode(b"caf\xe9.yml"): (put(good_yaml(title="Latin-1 name")), ": file name is not UTF-8: rename the file"),
}  # fmt: skip
# Built at run time and good: file name -> (builder, the source's title).
GENERATED_GOOD = {
    "crlf.yml": (put(good_yaml(title="CRLF line ends").replace("\n", "\r\n")), "CRLF line ends"),
    "double-bom.yml": (put("\ufeff\ufeff" + good_yaml(title="Two byte-order marks")), "Two byte-order marks"),
    "bom-and-crlf.csv": (put("\ufeff" + CSV_HEADER.replace("\n", "\r\n") + "BOM and CRLF,P,2024,Ines,w\r\n"), "BOM and CRLF"),
}  # fmt: skip
# Only a process that is not root is refused a file by its permissions.
UNREADABLE = {
    "unreadable.yml": (put(good_yaml(title="Unreadable")), ": cannot read file: Permission denied"),
    "unreadable-folder": (lambda path: path.mkdir(), ": cannot read folder: Permission denied"),
}
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def run_cli(*args, timeout=120):
    """A real process, so that a hang shows as a timeout (which fails the test)."""
    return subprocess.run(
        [*TESTIMONY, *map(str, args)], cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False
    )


def shown(path: Path) -> str:
    """A path as an error line shows it."""
    return one_line(str(path))


@pytest.fixture
def hostile_folder(tmp_path):
    """The whole corpus in one folder with the sample data and the good fixtures; -> (folder, expected errors
    keyed by the path as shown, good source files)."""
    folder = tmp_path / "in"
    outside = tmp_path / "outside"
    write(outside / "good.yml", good_yaml(title="Outside the folder"))
    shutil.copytree(HOSTILE, folder)
    shutil.copytree(DATA, folder / "data")
    expected = {shown(folder / name): error for name, error in FIXTURE_ERRORS.items()}
    generated = dict(GENERATED) | ({} if IS_ROOT else UNREADABLE)
    for name, (build, error) in generated.items():
        build(folder / name)
        expected[shown(folder / name)] = error.replace("<folder>", str(folder)).replace(
            "<tmp>", os.path.realpath(tmp_path)
        )
    if not IS_ROOT:
        for name in UNREADABLE:
            (folder / name).chmod(0)
    for name, (build, _) in GENERATED_GOOD.items():
        build(folder / name)
    good = [folder / name for name in [*GOOD_FIXTURES, *GENERATED_GOOD]] + sorted((folder / "data").glob("*.y*ml"))
    good += sorted((folder / "data").glob("*.json"))
    yield folder, expected, good
    for name in UNREADABLE:
        if (folder / name).exists():
            (folder / name).chmod(0o700)


def test_the_corpus_is_kept_with_its_expected_errors():
    on_disk = {path.name for path in HOSTILE.iterdir()}
    assert on_disk == set(FIXTURE_ERRORS) | set(GOOD_FIXTURES)
    hostile = len(FIXTURE_ERRORS) + len(GENERATED)
    assert hostile >= 80, hostile
    assert hostile == 164


def error_lines(text: str, expected: dict[str, str]) -> dict[str, list[str]]:
    """Each line that starts with an expected path, by that path (the longest that fits)."""
    found: dict[str, list[str]] = {}
    for line in text.splitlines():
        owners = [path for path in expected if line.startswith(f"{path}:")]
        if owners:
            found.setdefault(max(owners, key=len), []).append(line)
    return found


def check_lines(lines: dict[str, list[str]], expected: dict[str, str]) -> None:
    assert sorted(lines) == sorted(expected), set(expected) ^ set(lines)
    for path, error in expected.items():
        assert len(lines[path]) == 1, lines[path]  # named exactly once
        line = lines[path][0]
        assert error in line[len(path) :], (line, error)
        assert len(line) <= MAX_LINE and line.isprintable(), line


def test_a_folder_of_hostile_files_among_good_ones(hostile_folder, tmp_path):
    folder, expected, good = hostile_folder
    db = tmp_path / "a.db"
    result = run_cli("ingest", folder, "--db", db)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    check_lines(error_lines(result.stderr, expected), expected)
    assert result.stderr.count("\n") == len(expected)  # nothing but the error lines
    files = len(expected) + len(good)
    assert f"{files} files: " in result.stdout and f", {len(expected)} failed" in result.stdout

    # Every good file is in, verbatim: formula-like cells are data (a SHOUTED tag is shown in sentence case).
    titles = {normalized.source["title"] for path in good for normalized in load.read_file(path)}
    assert {row["title"] for row in rows(db, "select title from sources")} == titles
    assert rows(db, "select speaker, text, location, tags from testimonies where source_title = ? order by position",
                ["Formula-looking cells"]) == [
        {"speaker": "Perrin Maud", "text": '=HYPERLINK("http://example.invalid","click")', "location": "+1 district",
         "tags": '["@sum(a1:a9)", "-2+3"]'},
        {"speaker": "Ines Varga", "text": "-the gates closed at dusk", "location": "=cmd|' /C calc'!A0", "tags": "[]"},
    ]  # fmt: skip
    assert rows(db, "select name from people where name like 'O''Verrin%'") == [
        {"name": "O'Verrin\"; DELETE FROM people; -- <b>x</b>"}
    ]
    assert rows(db, "select text from testimonies where source_title = ?", ["A surrogate pair is one character"]) == [
        {"text": "The last message was a single \U0001f64f."}
    ]
    escaped = ["An escaped control character is data", "Escaped colours are data", "An escaped NUL is data"]
    assert rows(db, "select text from testimonies where source_title in (?, ?, ?) order by text", escaped) == [
        {"text": "\x1b[2JMy brother was taken from the grain market."},
        {"text": "\x1b[31mI saw the gates.\x1b[0m"},
        {"text": "I saw\x00 the gates."},
    ]
    assert rows(db, "select count(*) as n from testimonies") == [{"n": 22 + 2 + 1 + 1 + 1 + 1 + 1 + 3 + 3}]

    # The run is recorded with every file, each failure with its line.
    run = rows(db, "select id, files, failed from ingest_runs")
    assert [(r["files"], r["failed"]) for r in run] == [(files, len(expected))]
    recorded = rows(db, "select path, status, error from ingest_run_files")
    assert {r["path"] for r in recorded if r["status"] == "failed"} == set(expected)
    assert {r["path"] for r in recorded if r["status"] == "ok"} == {str(path) for path in good}
    for r in recorded:
        if r["status"] == "failed":
            assert r["error"].startswith(f"{r['path']}:") and expected[r["path"]] in r["error"], r

    # Nothing of a bad file was written, and the index holds exactly what SQLite holds.
    verify = run_cli("verify", "--db", db)
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_validate_reports_the_same_folder_and_writes_nothing(hostile_folder, tmp_path):
    folder, expected, good = hostile_folder
    before = sorted(os.listdir(folder))
    result = run_cli("validate", folder, "--json")
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    summary = json.loads(result.stdout)
    assert (summary["files"], summary["failed"]) == (len(expected) + len(good), len(expected))
    check_lines(error_lines("\n".join(summary["errors"]), expected), expected)
    assert sorted(os.listdir(folder)) == before
    assert not list(tmp_path.glob("*.db"))


def test_follow_symlinks_reads_outside_but_still_only_regular_files(tmp_path):
    folder = tmp_path / "in"
    write(tmp_path / "outside" / "good.yml", good_yaml(title="Outside the folder"))
    os.mkfifo(tmp_path / "outside" / "pipe")
    folder.mkdir()
    links = {
        "good.yml": "../outside/good.yml",
        "dev-zero.yml": "/dev/zero",
        "dev-null.json": "/dev/null",
        "dev-urandom.csv": "/dev/urandom",
        "pipe.yml": "../outside/pipe",
    }
    for name, target in links.items():
        (folder / name).symlink_to(target)
    db = tmp_path / "a.db"
    result = run_cli("ingest", folder, "--db", db, "--json")
    refused = sorted(json.loads(result.stdout)["errors"])
    assert [error.split(": ", 1)[0] for error in refused] == sorted(str(folder / name) for name in links)
    assert all(f": symlink leads outside {folder} (to " in error for error in refused), refused
    assert all(error.endswith("): not read (--follow-symlinks reads it)") for error in refused), refused

    result = run_cli("ingest", folder, "--db", db, "--follow-symlinks", "--json")
    assert result.returncode == 1, result.stderr
    assert sorted(json.loads(result.stdout)["errors"]) == [
        f"{folder / 'dev-null.json'}: is a character device, not a regular file: not read",
        f"{folder / 'dev-urandom.csv'}: is a character device, not a regular file: not read",
        f"{folder / 'dev-zero.yml'}: is a character device, not a regular file: not read",
        f"{folder / 'pipe.yml'}: is a FIFO (named pipe), not a regular file: not read",
    ]
    assert rows(db, "select title from sources") == [{"title": "Outside the folder"}]
    result = run_cli("validate", folder, "--follow-symlinks", "--json")
    assert json.loads(result.stdout)["failed"] == 4


def test_files_named_on_the_command_line_are_read_wherever_they_lead(tmp_path):
    """The archivist named them; special files are still refused, and a FIFO never blocks."""
    os.mkfifo(tmp_path / "pipe.yml")
    (tmp_path / "zero.yml").symlink_to("/dev/zero")
    good = write(tmp_path / "outside" / "good.yml", good_yaml(title="Named directly"))
    (tmp_path / "named.yml").symlink_to(good)
    result = run_cli("validate", tmp_path / "pipe.yml", tmp_path / "zero.yml", tmp_path / "named.yml", "/dev/null")
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"{tmp_path / 'pipe.yml'}: is a FIFO (named pipe), not a regular file: not read",
        f"{tmp_path / 'zero.yml'}: is a character device, not a regular file: not read",
        "/dev/null: is a character device, not a regular file: not read",
    ]
    assert "4 files: 1 valid, 3 invalid" in result.stdout


def test_error_lines_show_only_a_short_escaped_excerpt_of_what_a_file_holds(tmp_path):
    """A file that is really /etc/passwd or a program, read through --follow-symlinks: each error is one
    short line whatever the file holds."""
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "passwd.yml").symlink_to("/etc/passwd")
    (folder / "python.json").symlink_to(os.path.realpath(sys.executable))
    (folder / "python.csv").symlink_to(os.path.realpath(sys.executable))
    (folder / "passwd.csv").symlink_to("/etc/passwd")
    result = run_cli("validate", folder, "--follow-symlinks", "--json")
    errors = json.loads(result.stdout)["errors"]
    assert len(errors) == 4, errors
    for error in errors:
        assert len(error) <= len(str(folder)) + 160 and error.isprintable(), error


@pytest.mark.skipif(IS_ROOT, reason="root reads any file, whatever its permissions")
def test_unreadable_files_and_folders_are_reported(runner, tmp_path):
    folder = tmp_path / "in"
    write(folder / "good.yml", good_yaml(title="Readable"))
    for name, (build, _) in UNREADABLE.items():
        build(folder / name)
        (folder / name).chmod(0)
    try:
        result = runner.invoke(app, ["ingest", str(folder), "--db", str(tmp_path / "a.db"), "--json"])
    finally:
        for name in UNREADABLE:
            (folder / name).chmod(0o700)
    assert result.exit_code == 1
    assert sorted(json.loads(result.stdout)["errors"]) == sorted(
        f"{folder / name}{error}" for name, (_, error) in UNREADABLE.items()
    )
    assert rows(tmp_path / "a.db", "select title from sources") == [{"title": "Readable"}]


def test_read_bytes_refuses_a_folder(tmp_path):
    with pytest.raises(InvalidSource) as error:
        read_bytes(tmp_path)
    assert str(error.value) == f"{tmp_path}: is a folder, not a regular file: not read"


def test_a_file_larger_than_stat_said_is_refused_not_read_whole(tmp_path, monkeypatch):
    """The size from stat is checked first; the read itself stops at max_bytes + 1, so a file that grows
    after the check (or a device that reports no size) is never read whole."""
    monkeypatch.setattr(source, "_check_regular", lambda path, info, max_bytes: None)  # stat says nothing
    with pytest.raises(InvalidSource) as error:
        read_bytes(Path("/dev/zero"), max_bytes=1000)
    assert str(error.value) == "/dev/zero: file is over the limit of 1,000 bytes (it grew while being read)"
    path = write(tmp_path / "a.yml", good_yaml())
    with pytest.raises(InvalidSource, match="it grew while being read"):
        read_bytes(path, max_bytes=10)
    assert read_bytes(path, max_bytes=len(good_yaml())) == good_yaml().encode()


def three_files(tmp_path, middle: str) -> Path:
    """A folder of three good files, a.yml "First", b.yml `middle` (the one a test breaks) and c.yml "Third"."""
    folder = tmp_path / "in"
    for name, title in (("a.yml", "First"), ("b.yml", middle), ("c.yml", "Third")):
        write(folder / name, good_yaml(title=title))
    return folder


def test_an_unexpected_error_reading_one_file_is_its_line(runner, tmp_path, monkeypatch):
    folder = three_files(tmp_path, "Broken by a bug")
    normalize = load.normalize

    def buggy(document, path):
        if Path(path).name == "b.yml":
            raise KeyError("speaker")
        return normalize(document, path)

    monkeypatch.setattr(load, "normalize", buggy)
    db = tmp_path / "a.db"
    for command in (["validate"], ["ingest", "--db", str(db)]):
        result = runner.invoke(app, [*command, str(folder)])
        assert result.exit_code == 1
        assert f"{folder / 'b.yml'}: internal error reading this file (KeyError): please report it" in result.output
        assert "Traceback" not in result.output
    assert rows(db, "select title from sources order by title") == [{"title": "First"}, {"title": "Third"}]
    assert rows(db, "select path, status from ingest_run_files order by path") == [
        {"path": str(folder / name), "status": status}
        for name, status in [("a.yml", "ok"), ("b.yml", "failed"), ("c.yml", "ok")]
    ]
    assert runner.invoke(app, ["verify", "--db", str(db)]).exit_code == 0


def test_an_unexpected_error_writing_one_file_rolls_it_back_and_the_run_goes_on(runner, tmp_path, monkeypatch):
    folder = three_files(tmp_path, "Broken while written")
    write_source = store._write_source

    def buggy(db, normalized, *args):
        write_source(db, normalized, *args)  # rows written, then the failure: all of it must roll back
        if normalized.source["title"] == "Broken while written":
            raise RuntimeError("disk on fire")

    monkeypatch.setattr(store, "_write_source", buggy)
    db = tmp_path / "a.db"
    result = runner.invoke(app, ["ingest", str(folder), "--db", str(db)])
    assert result.exit_code == 1
    assert f"{folder / 'b.yml'}: internal error writing this file (RuntimeError): please report it" in result.output
    assert "disk on fire" not in result.output and "Traceback" not in result.output
    assert rows(db, "select title from sources order by title") == [{"title": "First"}, {"title": "Third"}]
    assert rows(db, "select files, inserted, failed from ingest_runs") == [{"files": 3, "inserted": 2, "failed": 1}]
    assert runner.invoke(app, ["verify", "--db", str(db)]).exit_code == 0


def test_a_database_locked_by_another_process_stops_the_run_with_one_line(runner, tmp_path):
    db = tmp_path / "a.db"
    assert runner.invoke(app, ["ingest", str(DATA / "bosphorus-hearing-2024.yaml"), "--db", str(db)]).exit_code == 0
    holder = __import__("sqlite3").connect(db, isolation_level=None)
    holder.execute("begin immediate")
    try:
        result = run_cli("ingest", DATA, "--db", db)
    finally:
        holder.execute("rollback")
        holder.close()
    assert result.returncode == 1
    assert "is locked by another process" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert run_cli("verify", "--db", db).returncode == 0
