"""Read one source file (YAML or JSON) and check it against `schema/source.schema.json`.

Everything that can go wrong with a file an archivist hands us ends here as an `InvalidSource`
naming the file, where in it (a line for syntax, a field path for the schema) and why. Nothing
downstream sees a document that has not passed `load_source`. A draft from `testimony extract` (its
`draft` line, its `UNRESOLVED: <question>` placeholders) is refused here too, as an `UnresolvedDraft`
with one line per unresolved field (`draft_problems`; `unresolved_fields` lists them for extract).

The file may be hostile: `read_bytes` reads regular files only (a FIFO, a socket, a device or a folder
is refused before it is opened) and never more than the size limit; an error line shows at most a
short, escaped excerpt of what the file holds (`excerpt`), and is one line whatever the file says.
"""

import json
import json.decoder
import json.scanner
import os
import re
import stat
from functools import cache
from pathlib import Path

import fastjsonschema
import yaml
from jsonschema import Draft202012Validator

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schema" / "source.schema.json"
SOURCE_SUFFIXES = {".yml", ".yaml", ".json"}
MAX_FILE_BYTES = 20 * 1024 * 1024
# Deeper than any honest source file; stops stack exhaustion in the parser and validator.
MAX_DEPTH = 32
# A year has four digits. Converting a long digit string to a number takes time quadratic in its length
# (Python refuses past 4,300 digits with a ValueError), so a longer number is refused before conversion.
MAX_NUMBER_DIGITS = 100
# The longest excerpt of a file's content an error line shows (repr, so escaped), and the longest reason.
SHOWN_CHARS = 60
MAX_REASON_CHARS = 500

# An alias can only follow an anchor, so text with nothing that looks like an anchor is safe for the
# fast C loader; anything else goes through the Python loader, which refuses aliases outright.
DATE_FIELDS = {"published", "date", "since"}

# A draft from `testimony extract` is marked so that it cannot be ingested by accident: a top-level
# `draft` key (deleted by the archivist once the draft is reviewed) and, for each field the release did
# not settle, a placeholder "UNRESOLVED: <question>". Both are refused until they are gone.
DRAFT_KEY = "draft"
UNRESOLVED = "UNRESOLVED"
DRAFT_REASON = "this is a draft from testimony extract: review every field, then delete the draft line"
# How much of a placeholder's question an error line shows, and how many lines one draft gets at most.
QUESTION_CHARS = 200
MAX_DRAFT_LINES = 100

ANCHOR_LIKE = re.compile(r"(^|[\s\[{,:-])&[^\s]", re.MULTILINE)


def excerpt(value) -> str:
    """A value from a file as an error line may show it: its repr (so escaped), at most SHOWN_CHARS long."""
    if isinstance(value, str | bytes) and len(value) > SHOWN_CHARS:
        value = value[:SHOWN_CHARS]  # the repr of a 20 MB string is never built
    text = repr(value)
    return text if len(text) <= SHOWN_CHARS else f"{text[: SHOWN_CHARS - 4]}...{text[-1]}"


def _escaped(char: str) -> str:
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:
        return f"\\x{code - 0xDC00:02x}"  # a byte of a file name that is not UTF-8 (surrogateescape)
    return repr(char)[1:-1]


def one_line(text: str) -> str:
    """`text` fit for one line of a terminal or a log: whatever a terminal would act on or not show (control
    characters, line breaks, bidirectional controls, lone surrogates) is escaped as repr escapes it."""
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else _escaped(char) for char in text)


def clip(text: str, limit: int = MAX_REASON_CHARS) -> str:
    """At most `limit` characters, the middle left out: the start says what, the end what to do."""
    if len(text) <= limit:
        return text
    head = (limit - 5) * 2 // 3
    return f"{text[:head]} ... {text[-(limit - 5 - head) :]}"


class InvalidSource(Exception):
    """A source file that cannot be ingested: `path`, `where` (line or field path) and `reason`.

    Shown as one line, escaped and of bounded length, whatever the path and reason hold."""

    def __init__(self, path, where, reason):
        self.path = str(path)
        self.where = where
        self.reason = reason
        super().__init__(str(self))

    def __str__(self):
        where = f":{self.where}" if self.where else ""
        return one_line(f"{self.path}{where}: {clip(str(self.reason))}")

    def lines(self) -> list[str]:
        """The file's lines in a report: one (a draft has one per unresolved field)."""
        return [str(self)]

    @classmethod
    def unexpected(cls, path, error: Exception, doing: str = "reading") -> "InvalidSource":
        """The one line an exception that escaped every check becomes, so that one file never stops a run."""
        if isinstance(error, InvalidSource):
            return error
        if isinstance(error, OSError):
            what = "cannot read file" if doing == "reading" else "could not be written to the archive"
            return cls(path, None, f"{what}: {error.strerror or error}")
        if isinstance(error, RecursionError):
            return cls(path, None, f"nested deeper than {MAX_DEPTH} levels")
        if isinstance(error, MemoryError):
            return cls(path, None, f"ran out of memory {doing} this file")
        if isinstance(error, UnicodeEncodeError):
            code = ord(error.object[error.start])
            return cls(path, None, f"holds U+{code:04X}, which is not a character and cannot be stored: remove it")
        return cls(path, None, f"internal error {doing} this file ({type(error).__name__}): please report it")


class UnresolvedDraft(InvalidSource):
    """A draft (see DRAFT_KEY): `problems` holds (where, reason) for the draft marker and each unresolved
    field, each its own line in a report (`lines`); as one line (str), the first and how many more."""

    def __init__(self, path, problems: list[tuple[str | None, str]]):
        self.problems = problems
        where, reason = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(path, where, reason + more)

    def lines(self) -> list[str]:
        return [str(InvalidSource(self.path, where, reason)) for where, reason in self.problems]


def _keep_dates_as_text(loader_class):
    """YAML 1.1 turns 2025-08-28 into a date object; the schema wants the text as written."""
    resolvers = {
        first: [(tag, regexp) for tag, regexp in entries if tag != "tag:yaml.org,2002:timestamp"]
        for first, entries in loader_class.yaml_implicit_resolvers.items()
    }
    return type(f"Text{loader_class.__name__}", (loader_class,), {"yaml_implicit_resolvers": resolvers})


class RefusedKey(Exception):
    """A key the parser would silently let override another: a duplicate, or a YAML merge key."""

    def __init__(self, line: int, reason: str):
        self.line = line
        self.reason = reason
        super().__init__(f"line {line}: {reason}")


def _duplicate(key, line: int, first_line: int) -> RefusedKey:
    return RefusedKey(line, f"duplicate key {excerpt(key)} (first at line {first_line})")


YAML_TAG_PREFIX = "tag:yaml.org,2002:"


def _number_too_long(text: str) -> str | None:
    if len(text) <= MAX_NUMBER_DIGITS:
        return None
    digits = len(re.sub(r"[^0-9]", "", text))
    return f"a number of {digits:,} digits is too long to read (at most {MAX_NUMBER_DIGITS})"


class _UniqueKeys:
    """Refuse what would make a later value win silently (`visibility: restricted` then `visibility: public`).

    The constructor is Python code in both loaders (CSafeLoader parses in C but constructs here), so
    one override covers both.
    """

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            first_lines = {}
            for key_node, _ in node.value:
                line = key_node.start_mark.line + 1
                if key_node.tag == "tag:yaml.org,2002:merge":
                    raise RefusedKey(line, "merge keys (<<) are not allowed in source files: write each field out")
                key = self.construct_object(key_node)
                try:
                    seen = key in first_lines
                except TypeError:
                    continue  # an unhashable key: the constructor below refuses it with its own message
                if seen:
                    raise _duplicate(key, line, first_lines[key])
                first_lines[key] = line
        return super().construct_mapping(node, deep=deep)

    def construct_object(self, node, deep=False):
        """A scalar the constructor cannot convert (`!!int abc`, `!!timestamp 2025-99-99`, a number of
        5,000 digits) is a YAML error on its line, never a ValueError from deep inside the loader."""
        if node.tag in (f"{YAML_TAG_PREFIX}int", f"{YAML_TAG_PREFIX}float") and isinstance(node.value, str):
            too_long = _number_too_long(node.value)
            if too_long:
                raise yaml.constructor.ConstructorError(None, None, too_long, node.start_mark)
        try:
            return super().construct_object(node, deep=deep)
        # PyYAML's constructors for explicit tags fail in these ways on text they do not expect.
        except (ValueError, TypeError, ArithmeticError, AttributeError, LookupError):
            tag = node.tag.replace(YAML_TAG_PREFIX, "!!")
            value = excerpt(node.value) if isinstance(node.value, str) else "this value"
            raise yaml.constructor.ConstructorError(
                None, None, f"cannot read {value} as {excerpt(tag)}", node.start_mark
            ) from None


class _NoAliasSafeLoader(_UniqueKeys, yaml.SafeLoader):
    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.MarkedYAMLError(
                problem="YAML aliases (*name) are not allowed in source files", problem_mark=event.start_mark
            )
        return super().compose_node(parent, index)


class _UniqueKeysFastLoader(_UniqueKeys, getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    pass


def _refuse_aliases(text: str):
    """Text that may hold an anchor: its events are read by the C parser (fast), an alias refused with its
    line, and the loader to use returned (the fast one when there is none; the Python one, which refuses
    aliases itself, where libyaml is missing)."""
    if not hasattr(yaml, "CSafeLoader"):
        return SAFE_LOADER
    for event in yaml.parse(text, Loader=yaml.CSafeLoader):
        if isinstance(event, yaml.AliasEvent):
            raise yaml.MarkedYAMLError(
                problem="YAML aliases (*name) are not allowed in source files", problem_mark=event.start_mark
            )
    return FAST_LOADER


SAFE_LOADER = _keep_dates_as_text(_NoAliasSafeLoader)
FAST_LOADER = _keep_dates_as_text(_UniqueKeysFastLoader)


class _UniqueKeysDecoder(json.JSONDecoder):
    """json.loads that refuses a duplicate key at any depth, with the line of the duplicate.

    `object_pairs_hook` sees the pairs but not where they stand, so objects are parsed by the
    pure-Python scanner through `parse_object`, which is told where each object starts (the C scanner
    ignores `parse_object`). Slower than the C scanner, still well under a second for a file at the
    size limit.
    """

    def __init__(self):
        super().__init__(**NUMBER_HOOKS)
        self.parse_object = self._parse_object
        self.scan_once = json.scanner.py_make_scanner(self)

    def _parse_object(self, s_and_end, strict, scan_once, object_hook, object_pairs_hook, memo=None):
        pairs, end = json.decoder.JSONObject(s_and_end, strict, scan_once, None, list, memo)
        document = dict(pairs)
        if len(document) != len(pairs):
            text, start = s_and_end
            first_lines = {}
            for key, line in _key_lines(text, start, scan_once, strict):
                if key in first_lines:
                    raise _duplicate(key, line, first_lines[key])
                first_lines[key] = line
        return document, end


class _HasDuplicate(Exception):
    pass


def _unique_pairs(pairs: list) -> dict:
    document = dict(pairs)
    if len(document) != len(pairs):
        raise _HasDuplicate
    return document


class Unreadable:
    """A JSON value the archive refuses (a number too long to convert, NaN, Infinity), left in place of the
    value so that `check_values` can name its field: the JSON scanner does not say where a number stands."""

    def __init__(self, reason: str):
        self.reason = reason

    def __repr__(self):
        return "<unreadable>"


def _json_number(convert):
    def parse(text: str):
        too_long = _number_too_long(text)
        return Unreadable(too_long) if too_long else convert(text)

    return parse


NUMBER_HOOKS = {
    "parse_int": _json_number(int),
    "parse_float": _json_number(float),
    "parse_constant": lambda name: Unreadable(f"{name} is not a number JSON allows"),
}


def parse_json(text: str):
    """json.loads, refusing duplicate keys: the C scanner finds out whether there is one, and only then
    does the slower `_UniqueKeysDecoder` read the file again to say where (RefusedKey)."""
    try:
        return json.loads(text, object_pairs_hook=_unique_pairs, **NUMBER_HOOKS)
    except _HasDuplicate:
        return _UniqueKeysDecoder().decode(text)


def _key_lines(text: str, position: int, scan_once, strict: bool):
    """(key, line) for each key of the object whose text starts at `position` (just after its `{`).

    Only called on an object that has just parsed, so the text is known to be well formed.
    """
    skip = json.decoder.WHITESPACE.match
    position = skip(text, position).end()
    while text[position] == '"':
        key, after = json.decoder.scanstring(text, position + 1, strict)
        yield key, text.count("\n", 0, position) + 1
        after_colon = skip(text, after).end() + 1
        _, position = scan_once(text, skip(text, after_colon).end())
        position = skip(text, position).end()
        if text[position] == ",":
            position = skip(text, position + 1).end()


@cache
def schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


@cache
def validator():
    return Draft202012Validator(schema())


@cache
def fast_validator():
    """The schema compiled to Python by fastjsonschema: 19 times jsonschema's speed on valid files (300
    generated files of 20 testimonies), which most files are. It only ever answers yes: a file it refuses (or
    cannot check) is checked again by `validator()`, whose verdict and error message are the ones that count.
    tests/test_fast_schema.py holds it to never accepting what jsonschema refuses, on every sample file and
    1,680 random mutations of them."""
    return fastjsonschema.compile(schema(), use_default=False, use_formats=False)


def schema_valid(document) -> bool:
    """Whether the fast validator accepts `document` (a no proves nothing: see `fast_validator`)."""
    try:
        fast_validator()(document)
    except Exception:  # noqa: BLE001 - JsonSchemaException, or a value it cannot compare: jsonschema decides
        return False
    return True


# What a file may be instead of a regular file; each is refused before it is opened (a FIFO would block).
SPECIAL_FILES = [
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
]
READ_CHUNK = 1 << 20
OPEN_FLAGS = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)


def _check_regular(path: Path, info: os.stat_result, max_bytes: int) -> None:
    if not stat.S_ISREG(info.st_mode):
        kind = next((name for test, name in SPECIAL_FILES if test(info.st_mode)), "a special file")
        raise InvalidSource(path, None, f"is {kind}, not a regular file: not read")
    if info.st_size > max_bytes:
        raise InvalidSource(path, None, f"file is {info.st_size:,} bytes, over the limit of {max_bytes:,}")


def read_bytes(path: Path, max_bytes: int = MAX_FILE_BYTES) -> bytes:
    """The file's bytes: a regular file only, within the size limit.

    The size is checked with stat before opening and again on the open file (it may have been swapped),
    and at most max_bytes + 1 bytes are ever read, so a file that grows, or a /proc file that reports no
    size, is refused rather than read whole. O_NONBLOCK: a FIFO put in the file's place after the check
    cannot block the open."""
    try:
        _check_regular(path, os.stat(path), max_bytes)
        descriptor = os.open(path, OPEN_FLAGS)
    except OSError as error:
        raise InvalidSource(path, None, f"cannot read file: {error.strerror or error}") from None
    try:
        _check_regular(path, os.fstat(descriptor), max_bytes)
        chunks, remaining = [], max_bytes + 1
        while remaining > 0:
            chunk = os.read(descriptor, min(remaining, READ_CHUNK))
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
    except OSError as error:
        raise InvalidSource(path, None, f"cannot read file: {error.strerror or error}") from None
    finally:
        os.close(descriptor)
    if remaining <= 0:
        raise InvalidSource(path, None, f"file is over the limit of {max_bytes:,} bytes (it grew while being read)")
    return b"".join(chunks)


# Byte-order marks of encodings other than UTF-8, longest first (UTF-32 LE starts like UTF-16 LE).
FOREIGN_BOMS = [
    (b"\xff\xfe\x00\x00", "UTF-32"),
    (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe", "UTF-16"),
    (b"\xfe\xff", "UTF-16"),
]
# C0 controls other than tab and line ends, DEL and C1: YAML refuses them; none belongs in any source file.
CONTROL_CHARACTER = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def decode_text(path: Path, raw: bytes) -> str:
    """The text of a file's bytes: UTF-8 (a BOM is allowed), no control characters, CRLF folded."""
    for bom, encoding in FOREIGN_BOMS:
        if raw.startswith(bom):
            raise InvalidSource(
                path, None, f"not UTF-8 text (it starts with a {encoding} byte-order mark): save it as UTF-8"
            )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise InvalidSource(path, f"line {line}", f"not UTF-8 text (byte 0x{raw[error.start]:02x})") from None
    control = CONTROL_CHARACTER.search(text)
    if control:
        line = text.count("\n", 0, control.start()) + 1
        if control.group() == "\x00":
            raise InvalidSource(path, f"line {line}", "a NUL byte: not a text file (UTF-16 or binary?)")
        code = ord(control.group())
        raise InvalidSource(path, f"line {line}", f"control character U+{code:04X} is not allowed in a source file")
    if not text.strip():
        raise InvalidSource(path, None, "file is empty")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def read_text(path: Path, max_bytes: int = MAX_FILE_BYTES) -> str:
    """The file's text: UTF-8 (a BOM is allowed), CRLF folded, within the size limit."""
    return decode_text(path, read_bytes(path, max_bytes))


def parse_text(path: Path, text: str):
    if path.suffix.lower() == ".json":
        try:
            return parse_json(text)
        except RefusedKey as error:
            raise InvalidSource(path, f"line {error.line}", error.reason) from None
        except RecursionError:
            raise InvalidSource(path, None, f"nested deeper than {MAX_DEPTH} levels") from None
        except json.JSONDecodeError as error:
            raise InvalidSource(path, f"line {error.lineno}", f"invalid JSON: {error.msg}") from None
    loader = FAST_LOADER
    try:
        if ANCHOR_LIKE.search(text):
            loader = _refuse_aliases(text)
        return yaml.load(text, Loader=loader)  # noqa: S506 - both loaders are SafeLoader subclasses
    except RefusedKey as error:
        raise InvalidSource(path, f"line {error.line}", error.reason) from None
    except RecursionError:
        raise InvalidSource(path, None, f"nested deeper than {MAX_DEPTH} levels") from None
    except yaml.MarkedYAMLError as error:
        if "maximum nesting depth" in (error.problem or ""):  # libyaml's own limit, where it has one
            raise InvalidSource(path, None, f"nested deeper than {MAX_DEPTH} levels") from None
        mark = error.problem_mark or error.context_mark
        where = f"line {mark.line + 1}" if mark else None
        raise InvalidSource(path, where, f"invalid YAML: {_yaml_reason(error)}") from None
    except yaml.reader.ReaderError as error:
        # The reader stops at the first such character (its `position` counts bytes in the C loader).
        character = error.character if isinstance(error.character, str) else chr(error.character)
        line = text.count("\n", 0, max(text.find(character), 0)) + 1
        reason = f"invalid YAML: character U+{ord(character):04X} is not allowed"
        raise InvalidSource(path, f"line {line}", reason) from None
    except yaml.YAMLError as error:
        raise InvalidSource(path, None, f"invalid YAML: {clip(str(error), YAML_REASON_CHARS)}") from None


YAML_REASON_CHARS = 120
UNKNOWN_TAG = re.compile(r"could not determine a constructor for the tag '(.*)'\Z", re.DOTALL)


def _yaml_reason(error: yaml.MarkedYAMLError) -> str:
    """The parser's reason, short: a tag (`!!python/object:...`, or one 10 MB long) is shown as an excerpt."""
    tag = UNKNOWN_TAG.match(error.problem or "")
    if tag:
        return f"the tag {excerpt(tag.group(1).replace(YAML_TAG_PREFIX, '!!'))} is not allowed in a source file"
    return clip(" ".join(part for part in (error.context, error.problem) if part), YAML_REASON_CHARS)


FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,59}\Z")


def field_path(parts) -> str:
    """['testimonies', 2, 'speaker'] -> 'testimonies[2].speaker' (0-based, as in the file's list).

    A key that is no plain name (one only a hostile file has) is shown as an excerpt: ['\\x1b[2J']."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif isinstance(part, str) and FIELD_NAME.match(part):
            out += f".{part}" if out else part
        else:
            out += f"[{excerpt(part)}]"
    return out or "(top level)"


# A lone surrogate (what a JSON or YAML escape such as \ud800 gives) is no character: SQLite cannot store
# it. A control character written as an escape ("\u001b", YAML's "\e") is a deliberate value and kept
# verbatim, as testimony text is; whatever prints it escapes it (raw ones are refused by `decode_text`).
LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _text_problem(text: str, private: bool) -> str | None:
    found = LONE_SURROGATE.search(text)
    if not found:
        return None
    # As in _shown: a private field's value never reaches an error line (printed, and kept in the log).
    shown = "a private value" if private else excerpt(text)
    return f"{shown} contains U+{ord(found.group()):04X} (a lone surrogate, not a character): remove it"


def _nodes(document):
    """(path parts, value, nesting level) for the document and every value in it, in file order.
    Iterative, so it cannot itself overflow; a mapping's children are only visited once the caller,
    having looked at the mapping, asks for the next node (check_values stops first at MAX_DEPTH)."""
    stack = [((), document, 1)]
    while stack:
        parts, value, level = stack.pop()
        yield parts, value, level
        if isinstance(value, dict):
            stack.extend(reversed([((*parts, key), child, level + 1) for key, child in value.items()]))
        elif isinstance(value, list):
            stack.extend(reversed([((*parts, index), child, level + 1) for index, child in enumerate(value)]))


def check_values(path: Path, document) -> None:
    """Refuse what the schema cannot see and SQLite cannot store, naming the field: nesting deeper than
    MAX_DEPTH, keys that are not text, lone surrogates (in keys too), and the
    JSON numbers `parse_json` left `Unreadable`."""
    for parts, value, level in _nodes(document):
        if level > MAX_DEPTH:
            raise InvalidSource(path, None, f"nested deeper than {MAX_DEPTH} levels")
        private = "private" in parts
        if isinstance(value, dict):
            for key in value:
                if not isinstance(key, str):
                    # YAML reads `yes:`, `~:` or `2024:` as a boolean, null or number, never as a field's name.
                    raise InvalidSource(path, field_path(parts), f"the key {excerpt(key)} is not text: quote it")
                problem = _text_problem(key, private)
                if problem:
                    raise InvalidSource(path, field_path(parts), f"the key {problem}")
        elif isinstance(value, str):
            problem = _text_problem(value, private)
            if problem:
                raise InvalidSource(path, field_path(parts), problem)
        elif isinstance(value, Unreadable):
            raise InvalidSource(path, field_path(parts), value.reason)


@cache
def _placeholder():
    """The schema's `placeholder` pattern (one rule for editors and for this module)."""
    return re.compile(schema()["$defs"]["placeholder"]["pattern"])


def placeholder_question(value) -> str | None:
    """The question a placeholder asks ('' if it asks none); None for a value that is no placeholder."""
    found = _placeholder().match(value) if isinstance(value, str) else None
    return value[found.end() :].strip() if found else None


def _placeholders(document):
    """(path parts, question) of each placeholder in the document, in file order (the draft line aside)."""
    for parts, value, _ in _nodes(document):
        question = placeholder_question(value)
        if question is not None and parts[:1] != (DRAFT_KEY,):
            yield parts, question


def unresolved_fields(document) -> list[tuple[str, str]]:
    """(field path, question) for each field a draft left unresolved: `('testimonies[2].speaker', 'who said
    this?')`. Every one must be answered (and the `draft` line deleted) before the file can be ingested."""
    return [(field_path(parts), question) for parts, question in _placeholders(document)]


def draft_problems(document) -> list[tuple[str, str]]:
    """(where, reason) for the draft marker and each unresolved field, as a draft's error lines say them;
    at most MAX_DRAFT_LINES, the last one counting the rest."""
    problems = [(DRAFT_KEY, DRAFT_REASON)] if isinstance(document, dict) and DRAFT_KEY in document else []
    for parts, question in _placeholders(document):
        # As in _shown: a private field's words never reach an error line (printed, and kept in the log).
        shown = "a private value (see the file)" if "private" in parts else clip(question, QUESTION_CHARS)
        problems.append((field_path(parts), f"unresolved: {shown or 'set this field'}"))
    if len(problems) > MAX_DRAFT_LINES:
        more = len(problems) - MAX_DRAFT_LINES + 1
        problems[MAX_DRAFT_LINES - 1 :] = [(None, f"and {more:,} more unresolved fields")]
    return problems


def _shown(error) -> str:
    """The offending value as an error line may show it: never a private field's value (the line is
    printed, and kept in the ingest log in clear), never a whole mapping or list, at most 60 characters."""
    if "private" in error.absolute_path:
        return "a private value"
    value = error.instance
    if isinstance(value, dict):
        return "this mapping"
    if isinstance(value, list):
        return "this list"
    return excerpt(value)


def _describe(error) -> str:
    """One readable reason for a jsonschema error, preferring the most specific sub-error. Built here, not
    taken from jsonschema's message, which would print the value (a private one included) whole."""
    parts = list(error.absolute_path)
    shown = _shown(error)
    if error.validator == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        # As many names as fit in one excerpt's length: a file of 10,000 odd keys shows one or two.
        names = [excerpt(extra[0])]
        for name in map(excerpt, extra[1:]):
            if len(names) == 3 or sum(map(len, names)) + len(name) > SHOWN_CHARS:
                break
            names.append(name)
        more = f" and {len(extra) - len(names)} more" if len(extra) > len(names) else ""
        return f"unknown field{'s' if len(extra) > 1 else ''} {', '.join(names)}{more}"
    if parts and parts[-1] in DATE_FIELDS and error.validator in ("pattern", "oneOf", "type"):
        return f"{shown} is not a date of the form YYYY, YYYY-MM or YYYY-MM-DD"
    if error.validator == "oneOf" and error.context:
        best = max(error.context, key=lambda sub: len(sub.absolute_path))
        if best.validator != "type":
            return _describe(best)
        if all(sub.validator == "type" for sub in error.context):
            expected = [kind for sub in error.context for kind in _as_list(sub.validator_value)]
            return f"{shown} is not of type {', '.join(map(repr, expected))}"
    if error.validator == "enum":
        return f"{shown} is not one of: {', '.join(map(str, error.validator_value))}"
    if error.validator == "pattern":
        if error.validator_value == "\\S":
            return f"{shown} is empty"
        what = "an http(s) URL" if parts and parts[-1] == "url" else "of the expected form"
        return f"{shown} is not {what}"
    if error.validator == "required":
        return error.message.replace("is a required property", "is required")
    if error.validator == "type":
        return f"{shown} is not of type {', '.join(map(repr, _as_list(error.validator_value)))}"
    if error.validator == "minItems" and error.instance == []:
        return "[] should be non-empty"
    reasons = {
        "minLength": "is empty",
        "maxLength": f"is longer than {error.validator_value} characters",
        "minItems": f"needs at least {error.validator_value} item{'s' if error.validator_value != 1 else ''}",
        "minimum": f"is less than {error.validator_value}",
        "maximum": f"is more than {error.validator_value}",
    }
    return f"{shown} {reasons.get(error.validator, 'is not valid here')}"


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def _deepest(error):
    """Within a `oneOf` (a speaker is a name or a mapping), the alternative that got furthest into the
    value says what is wrong, and where: `speaker.pseudonym: 'yes' is not of type 'boolean'`."""
    while error.validator == "oneOf" and error.context:
        best = max(error.context, key=lambda sub: len(sub.absolute_path))
        if len(best.absolute_path) <= len(error.absolute_path):
            break
        error = best
    return error


def _position(error):
    """Order errors as they stand in the file: list items by number, not as text."""
    return [(0, part, "") if isinstance(part, int) else (1, 0, part) for part in error.absolute_path]


def validate_document(path: Path, document) -> dict:
    """Raise InvalidSource for the first schema error (by position in the file), else return document.

    A draft is refused before the schema sees it (UnresolvedDraft, one line per unresolved field): the
    schema refuses it too, for editors, but would say it less plainly."""
    check_values(path, document)
    problems = draft_problems(document)
    if problems:
        raise UnresolvedDraft(path, problems)
    if schema_valid(document):
        return document
    errors = sorted(validator().iter_errors(document), key=_position)
    if errors:
        error = _deepest(errors[0])
        more = f" (and {len(errors) - 1} more error{'s' if len(errors) > 2 else ''})" if len(errors) > 1 else ""
        raise InvalidSource(path, field_path(error.absolute_path), _describe(error) + more)
    return document


def load_source(path: Path, max_bytes: int = MAX_FILE_BYTES) -> dict:
    """Read, parse and validate one source file."""
    return validate_document(path, parse_text(path, read_text(path, max_bytes)))
