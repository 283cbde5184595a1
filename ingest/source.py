"""Read one source file (YAML or JSON) and check it against `schema/source.schema.json`.

Everything that can go wrong with a file an archivist hands us ends here as an `InvalidSource`
naming the file, where in it (a line for syntax, a field path for the schema) and why. Nothing
downstream sees a document that has not passed `load_source`.
"""

import json
import json.decoder
import json.scanner
import re
from functools import cache
from pathlib import Path

import yaml
from jsonschema import Draft202012Validator

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schema" / "source.schema.json"
SOURCE_SUFFIXES = {".yml", ".yaml", ".json"}
MAX_FILE_BYTES = 20 * 1024 * 1024
# Deeper than any honest source file; stops stack exhaustion in the parser and validator.
MAX_DEPTH = 32

# An alias can only follow an anchor, so text with nothing that looks like an anchor is safe for the
# fast C loader; anything else goes through the Python loader, which refuses aliases outright.
DATE_FIELDS = {"published", "date", "since"}

ANCHOR_LIKE = re.compile(r"(^|[\s\[{,:-])&[^\s]", re.MULTILINE)


class InvalidSource(Exception):
    """A source file that cannot be ingested: `path`, `where` (line or field path) and `reason`."""

    def __init__(self, path, where, reason):
        self.path = str(path)
        self.where = where
        self.reason = reason
        super().__init__(str(self))

    def __str__(self):
        where = f":{self.where}" if self.where else ""
        return f"{self.path}{where}: {self.reason}"


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
    return RefusedKey(line, f"duplicate key {key!r} (first at line {first_line})")


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
        super().__init__()
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


def parse_json(text: str):
    """json.loads, refusing duplicate keys: the C scanner finds out whether there is one, and only then
    does the slower `_UniqueKeysDecoder` read the file again to say where (RefusedKey)."""
    try:
        return json.loads(text, object_pairs_hook=_unique_pairs)
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
def validator():
    return Draft202012Validator(json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))


def read_text(path: Path, max_bytes: int = MAX_FILE_BYTES) -> str:
    """The file's text: UTF-8 (a BOM is allowed), CRLF folded, within the size limit."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise InvalidSource(path, None, f"file is {size:,} bytes, over the limit of {max_bytes:,}")
        raw = path.read_bytes()
    except OSError as error:
        raise InvalidSource(path, None, f"cannot read file: {error.strerror or error}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise InvalidSource(path, f"line {line}", f"not UTF-8 text (byte 0x{raw[error.start]:02x})") from None
    if not text.strip():
        raise InvalidSource(path, None, "file is empty")
    return text.replace("\r\n", "\n").replace("\r", "\n")


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
    loader = SAFE_LOADER if ANCHOR_LIKE.search(text) else FAST_LOADER
    try:
        return yaml.load(text, Loader=loader)  # noqa: S506 - both loaders are SafeLoader subclasses
    except RefusedKey as error:
        raise InvalidSource(path, f"line {error.line}", error.reason) from None
    except RecursionError:
        raise InvalidSource(path, None, f"nested deeper than {MAX_DEPTH} levels") from None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"line {mark.line + 1}" if mark else None
        reason = " ".join(part for part in (error.context, error.problem) if part)
        raise InvalidSource(path, where, f"invalid YAML: {reason}") from None
    except yaml.YAMLError as error:
        raise InvalidSource(path, None, f"invalid YAML: {error}") from None


def field_path(parts) -> str:
    """['testimonies', 2, 'speaker'] -> 'testimonies[2].speaker' (0-based, as in the file's list)."""
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _depth(value, limit=MAX_DEPTH) -> bool:
    """True when value nests deeper than limit; iterative so it cannot itself overflow."""
    stack = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if level > limit:
            return True
        if isinstance(item, dict):
            stack.extend((child, level + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, level + 1) for child in item)
    return False


SHOWN_CHARS = 60


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
    text = repr(value)
    return text if len(text) <= SHOWN_CHARS else f"{text[: SHOWN_CHARS - 4]}...{text[-1]}"


def _describe(error) -> str:
    """One readable reason for a jsonschema error, preferring the most specific sub-error. Built here, not
    taken from jsonschema's message, which would print the value (a private one included) whole."""
    parts = list(error.absolute_path)
    shown = _shown(error)
    if error.validator == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        return f"unknown field {', '.join(map(repr, extra))}"
    if parts and parts[-1] in DATE_FIELDS and error.validator in ("pattern", "oneOf", "type"):
        return f"{shown} is not a date of the form YYYY, YYYY-MM or YYYY-MM-DD"
    if error.validator == "oneOf" and error.context:
        best = max(error.context, key=lambda sub: len(sub.absolute_path))
        if best.validator != "type":
            return _describe(best)
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
        expected = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
        return f"{shown} is not of type {', '.join(map(repr, expected))}"
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


def _position(error):
    """Order errors as they stand in the file: list items by number, not as text."""
    return [(0, part, "") if isinstance(part, int) else (1, 0, part) for part in error.absolute_path]


def validate_document(path: Path, document) -> dict:
    """Raise InvalidSource for the first schema error (by position in the file), else return document."""
    if _depth(document):
        raise InvalidSource(path, None, f"nested deeper than {MAX_DEPTH} levels")
    errors = sorted(validator().iter_errors(document), key=_position)
    if errors:
        error = errors[0]
        more = f" (and {len(errors) - 1} more error{'s' if len(errors) > 2 else ''})" if len(errors) > 1 else ""
        raise InvalidSource(path, field_path(error.absolute_path), _describe(error) + more)
    return document


def load_source(path: Path, max_bytes: int = MAX_FILE_BYTES) -> dict:
    """Read, parse and validate one source file."""
    return validate_document(path, parse_text(path, read_text(path, max_bytes)))
