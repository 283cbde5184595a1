"""Strict input where safety depends on it: a duplicate key or column (the later value would win
silently: a restricted testimony published), a YAML merge key, a look-alike star (a pseudonym flag
dropped), an invisible character in a name. Each refusal is one line naming the file, where in it and
why; nothing of a refused file is written."""

import json
import sys
import unicodedata
from pathlib import Path

import pytest
import yaml
from testimony_archive.ingest.cli import app
from testimony_archive.ingest.normalize import parse_name, star_like
from testimony_archive.ingest.source import FAST_LOADER, SAFE_LOADER, InvalidSource, RefusedKey, parse_text

from .conftest import rows, write

# Line numbers matter: the cases below insert lines and name the lines they expect.
BASE = """\
source:
  title: "{title}"
  publisher: Test Rights Group
  published: 2024
  visibility: restricted
testimonies:
  - speaker: Aziz
    role: family
    text: My brother was detained.
  - speaker: Patime*
    role: family
    subjects:
      - name: Ablikim*
        relationship: brother
        status: imprisoned
    text: My brother is still in prison.
  - speaker: Dilnur
    role: witness
    visibility: restricted
    text: I saw the camp gates from the road.
"""
SOURCE_VISIBILITY, SUBJECT_STATUS, THIRD_VISIBILITY = 5, 15, 19


def source_yaml(title: str, after: int | None = None, line: str = "") -> str:
    """BASE with `line` inserted after line number `after` (1-based), so it becomes line after + 1."""
    lines = BASE.format(title=title).splitlines(keepends=True)
    if after is not None:
        lines.insert(after, line + "\n")
    return "".join(lines)


def one_testimony_yaml(title: str, speaker: str, subject: str | None = None) -> str:
    """A source whose single testimony has `speaker` (YAML double-quoted, so \\u escapes work)."""
    subjects = f'    subjects: [{{name: "{subject}", relationship: brother, status: detained}}]\n' if subject else ""
    return (
        f"source: {{title: '{title}', publisher: Test Rights Group, published: 2024}}\n"
        f'testimonies:\n  - speaker: "{speaker}"\n    role: family\n{subjects}    text: My brother was detained.\n'
    )


JSON_NESTED_DUPLICATE = """\
{
  "source": {"title": "Bad: JSON nested duplicate", "publisher": "Test Rights Group", "published": "2024"},
  "testimonies": [
    {
      "speaker": {"name": "Aziz", "private": {"notes": "said \\"visibility\\": public"}},
      "text": "My brother was detained.",
      "visibility": "restricted",
      "visibilit\\u0079": "public"
    }
  ]
}
"""
# The same key in different objects, at several depths: nothing is overridden, so this is valid.
JSON_SAME_KEY_IN_TWO_OBJECTS = """\
{
  "source": {"title": "Good: JSON", "publisher": "Test Rights Group", "published": "2024", "visibility": "public"},
  "testimonies": [
    {"speaker": {"name": "Erkin", "pseudonym": true}, "visibility": "restricted",
     "subjects": [{"name": "Tursun", "status": "detained"}, {"name": "Aynur", "status": "released"}],
     "text": "My brothers were detained."},
    {"speaker": {"name": "Gulnar"}, "visibility": "public", "text": "I saw the gates."}
  ]
}
"""
# Mohammadreza, with a ZERO WIDTH NON-JOINER inside the word, as Persian writes it.
PERSIAN = "\u0645\u062d\u0645\u062f\u200c\u0631\u0636\u0627"
CSV_HEADER = "source_title,source_publisher,source_published,speaker,text"

# case -> (file text, the error after the file's path). CSV cases run with MAP below.
BAD = {
    "yaml top level": (
        source_yaml("Bad: top level", 20, "source: {title: Other, publisher: Other, published: 2020}"),
        ":line 21: duplicate key 'source' (first at line 1)",
    ),
    "yaml in source": (
        source_yaml("Bad: in source", SOURCE_VISIBILITY, "  visibility: public"),
        ":line 6: duplicate key 'visibility' (first at line 5)",
    ),
    "yaml in testimonies[2]": (
        source_yaml("Bad: in testimonies[2]", THIRD_VISIBILITY, "    visibility: public"),
        ":line 20: duplicate key 'visibility' (first at line 19)",
    ),
    "yaml in a subject": (
        source_yaml("Bad: in a subject", SUBJECT_STATUS, "        status: released"),
        ":line 16: duplicate key 'status' (first at line 15)",
    ),
    "yaml quoted key": (
        source_yaml("Bad: quoted key", SOURCE_VISIBILITY, '  "visibility": public'),
        ":line 6: duplicate key 'visibility' (first at line 5)",
    ),
    "yaml merge key": (
        source_yaml("Bad: merge key", THIRD_VISIBILITY, "    <<: {location: Almaty}"),
        ":line 20: merge keys (<<) are not allowed in source files: write each field out",
    ),
    "json nested": (JSON_NESTED_DUPLICATE, ":line 8: duplicate key 'visibility' (first at line 7)"),
    "csv case": (
        f"{CSV_HEADER},visibility,Visibility\nBad: CSV case,P,2024,Aziz,words,restricted,public\n",
        ":row 1, column 'Visibility': duplicate column: 'visibility' and 'Visibility' are both 'visibility'"
        " (column names are case-insensitive); keep one",
    ),
    "csv map": (
        f"{CSV_HEADER},Quote\nBad: CSV map,P,2024,Aziz,words,other words\n",
        ":row 1, column 'Quote': duplicate column: 'text' and 'Quote' are both 'text'"
        " (after --map 'Quote=text'); keep one",
    ),
    "csv subject number": (
        f"{CSV_HEADER},subject_name,subject1_name\nBad: CSV subject,P,2024,Aziz,words,Erkin,Erkin*\n",
        ":row 1, column 'subject1_name': duplicate column: 'subject_name' and 'subject1_name' are both"
        " 'subject_name'; keep one",
    ),
    "zero width space": (
        one_testimony_yaml("Bad: ZWSP", "Patime*\\u200b"),
        ":testimonies[0].speaker: 'Patime*\\u200b' contains U+200B ZERO WIDTH SPACE (an invisible character):"
        " remove it",
    ),
    "zero width joiner after the star": (
        one_testimony_yaml("Bad: ZWJ", "Patime*\\u200d"),
        ":testimonies[0].speaker: 'Patime*\\u200d' contains U+200D ZERO WIDTH JOINER outside a word"
        " (allowed only between two letters): remove it",
    ),
    "byte order mark": (
        one_testimony_yaml("Bad: BOM", "Aziz", subject="Patime*\\ufeff"),
        ":testimonies[0].subjects[0].name: 'Patime*\\ufeff' contains U+FEFF ZERO WIDTH NO-BREAK SPACE"
        " (an invisible character): remove it",
    ),
    "right-to-left override": (
        one_testimony_yaml("Bad: RLO", "Patime*\\u202e"),
        ":testimonies[0].speaker: 'Patime*\\u202e' contains U+202E RIGHT-TO-LEFT OVERRIDE"
        " (a bidirectional control character): remove it",
    ),
    "only a joiner": (
        one_testimony_yaml("Bad: only ZWJ", "\\u200d"),
        ":testimonies[0].speaker: '\\u200d' contains U+200D ZERO WIDTH JOINER outside a word"
        " (allowed only between two letters): remove it",
    ),
    "star inside": (
        one_testimony_yaml("Bad: star inside", "Pa*time"),
        ":testimonies[0].speaker: 'Pa*time': a * inside a name is ambiguous: mark a pseudonym with one * at the end",
    ),
    "look-alike star inside": (
        one_testimony_yaml("Bad: look-alike inside", "Aziz", subject="Pa\\uff0atime"),
        ":testimonies[0].subjects[0].name: 'Pa＊time': a * inside a name is ambiguous: mark a pseudonym with one *"
        " at the end",
    ),
    "no letter": (
        one_testimony_yaml("Bad: no letter", "1989"),
        ":testimonies[0].speaker: '1989' is not a name: it has no letter",
    ),
    "csv invisible name": (
        f'{CSV_HEADER}\nBad: CSV name,P,2024,"Patime*\u200b",words\n',
        ":row 2, column 'speaker': 'Patime*\\u200b' contains U+200B ZERO WIDTH SPACE (an invisible character):"
        " remove it",
    ),
}
SUFFIX = {"json nested": ".json"}


def bad_file(folder: Path, case: str) -> Path:
    suffix = ".csv" if case.startswith("csv") else SUFFIX.get(case, ".yml")
    return write(folder / (case.replace(" ", "-") + suffix), BAD[case][0])


GOOD = {
    "good.yml": source_yaml("Good: YAML"),
    "good.json": JSON_SAME_KEY_IN_TWO_OBJECTS,
    "good.csv": f"{CSV_HEADER},Notes,,\nGood: CSV,P,2024,Patime\uff0a,words,ignored,,\n",
    "persian.yml": one_testimony_yaml("Good: Persian", PERSIAN),
}
MAP = ["--map", "Quote=text", "--map", "Notes=location"]


def run(runner, command: str, *paths: Path, db: Path | None = None):
    """The CLI's --json summary and exit code."""
    args = [command, *map(str, paths), *MAP, "--json"] + (["--db", str(db)] if db else [])
    result = runner.invoke(app, args)
    return json.loads(result.stdout), result.exit_code


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
def test_bad_input_is_one_line_and_nothing_written(runner, tmp_path, case):
    folder = tmp_path / "in"
    bad = bad_file(folder, case)
    write(folder / "good.yml", GOOD["good.yml"])
    db = tmp_path / "a.db"
    summary, exit_code = run(runner, "ingest", folder, db=db)
    assert exit_code == 1
    assert summary["errors"] == [f"{bad}{BAD[case][1]}"]
    assert rows(db, "select title from sources") == [{"title": "Good: YAML"}]


def test_a_folder_of_bad_and_good_files(runner, tmp_path):
    folder = tmp_path / "in"
    bad = {case: bad_file(folder, case) for case in BAD}
    for name, text in GOOD.items():
        write(folder / name, text)
    expected_errors = sorted(f"{bad[case]}{error}" for case, (_, error) in BAD.items())

    summary, exit_code = run(runner, "validate", folder)
    assert exit_code == 1
    assert (summary["files"], summary["failed"]) == (len(BAD) + len(GOOD), len(BAD))
    assert sorted(summary["errors"]) == expected_errors
    assert sorted(path.name for path in folder.iterdir()) == sorted([*GOOD, *(path.name for path in bad.values())])

    db = tmp_path / "a.db"
    summary, exit_code = run(runner, "ingest", folder, db=db)
    assert exit_code == 1
    assert sorted(summary["errors"]) == expected_errors
    assert (summary["inserted"], summary["failed"]) == (3 + 2 + 1 + 1, len(BAD))
    assert rows(db, "select title, visibility from sources order by title") == [
        {"title": "Good: CSV", "visibility": "public"},
        {"title": "Good: JSON", "visibility": "public"},
        {"title": "Good: Persian", "visibility": "public"},
        {"title": "Good: YAML", "visibility": "restricted"},
    ]
    assert rows(
        db,
        """select s.title, p.name as speaker, p.is_pseudonym, t.visibility from testimonies t
        join sources s on s.id = t.source_id join people p on p.id = t.speaker_id order by s.title, t.position""",
    ) == [
        {"title": "Good: CSV", "speaker": "Patime", "is_pseudonym": 1, "visibility": "public"},
        {"title": "Good: JSON", "speaker": "Erkin", "is_pseudonym": 1, "visibility": "restricted"},
        {"title": "Good: JSON", "speaker": "Gulnar", "is_pseudonym": 0, "visibility": "public"},
        {"title": "Good: Persian", "speaker": PERSIAN, "is_pseudonym": 0, "visibility": "public"},
        {"title": "Good: YAML", "speaker": "Aziz", "is_pseudonym": 0, "visibility": "public"},
        {"title": "Good: YAML", "speaker": "Patime", "is_pseudonym": 1, "visibility": "public"},
        {"title": "Good: YAML", "speaker": "Dilnur", "is_pseudonym": 0, "visibility": "restricted"},
    ]  # fmt: skip
    assert {row["location"] for row in rows(db, "select location from testimonies")} == {None, "ignored"}
    assert {row["name"] for row in rows(db, "select name from people")} == {
        *("Patime", "Aziz", "Ablikim", "Dilnur"),  # good.yml
        *("Erkin", "Tursun", "Aynur", "Gulnar"),  # good.json
        PERSIAN,
    }


@pytest.mark.parametrize(
    "star",
    ["\uff0a", "\u2217", "\u22c6", "\u2736", "\u2042", "\u203b", "\u2605", "\u2051", "\u2020"],
    ids=[
        "FULLWIDTH ASTERISK",
        "ASTERISK OPERATOR",
        "STAR OPERATOR",
        "SIX POINTED BLACK STAR",
        "ASTERISM",
        "REFERENCE MARK",
        "BLACK STAR",
        "TWO ASTERISKS ALIGNED VERTICALLY",
        "DAGGER",
    ],
)
def test_lookalike_star_marks_a_pseudonym(runner, tmp_path, star):
    path = write(tmp_path / "a.yml", one_testimony_yaml("Look-alike", f"Patime{star}", subject=f"Ablikim {star}"))
    db = tmp_path / "a.db"
    summary, exit_code = run(runner, "ingest", path, db=db)
    assert exit_code == 0, summary
    assert rows(db, "select name, is_pseudonym from people order by name") == [
        {"name": "Ablikim", "is_pseudonym": 1},
        {"name": "Patime", "is_pseudonym": 1},
    ]
    # The browse column prints the name as the archive does: with the plain star, whatever mark the file used.
    assert rows(db, "select speaker, speaker_is_pseudonym from testimonies") == [
        {"speaker": "Patime*", "speaker_is_pseudonym": 1}
    ]


def test_persian_name_keeps_its_zero_width_non_joiner(runner, tmp_path):
    path = write(tmp_path / "a.yml", one_testimony_yaml("Persian", PERSIAN))
    db = tmp_path / "a.db"
    summary, exit_code = run(runner, "ingest", path, db=db)
    assert exit_code == 0, summary
    assert rows(db, "select name, is_pseudonym from people") == [{"name": PERSIAN, "is_pseudonym": 0}]


def test_empty_header_cells_are_still_ignored(runner, tmp_path):
    path = write(tmp_path / "a.csv", f",{CSV_HEADER},,\nx,T,P,2024,Aziz,words,y,z\n")
    db = tmp_path / "a.db"
    summary, exit_code = run(runner, "ingest", path, db=db)
    assert exit_code == 0, summary
    assert rows(db, "select speaker, text from testimonies") == [{"speaker": "Aziz", "text": "words"}]


# Unit level: the parsers and parse_name on their own.


@pytest.mark.parametrize("loader", [SAFE_LOADER, FAST_LOADER], ids=["safe", "fast"])
@pytest.mark.parametrize(
    "text,line,reason",
    [
        ("a: 1\nb: 2\na: 3\n", 3, "duplicate key 'a' (first at line 1)"),
        ("a: {x: 1, y: 2, x: 3}\n", 1, "duplicate key 'x' (first at line 1)"),
        ("a:\n  - b: 1\n    c: 2\n    b: 3\n", 4, "duplicate key 'b' (first at line 2)"),
        ("a: 1\n'a': 2\n", 2, "duplicate key 'a' (first at line 1)"),
        ("a: 1\n<<: {a: 2}\n", 2, "merge keys (<<) are not allowed in source files: write each field out"),
    ],
)
def test_both_yaml_loaders_refuse_keys_that_override(loader, text, line, reason):
    with pytest.raises(RefusedKey) as error:
        yaml.load(text, Loader=loader)  # noqa: S506 - SafeLoader subclasses
    assert (error.value.line, error.value.reason) == (line, reason)


def test_fast_loader_is_still_the_c_loader():
    assert issubclass(FAST_LOADER, yaml.CSafeLoader)


def test_yaml_same_key_in_different_mappings_and_quoted_merge_key_are_fine():
    text = "a: {x: 1}\nb: {x: 2}\n'<<': 3\nx: 4\n"
    for loader in (SAFE_LOADER, FAST_LOADER):
        assert yaml.load(text, Loader=loader) == {"a": {"x": 1}, "b": {"x": 2}, "<<": 3, "x": 4}  # noqa: S506


@pytest.mark.parametrize(
    "text,expected",
    [
        ('{"a": 1,\n "b": 2,\n "a": 3}', ":line 3: duplicate key 'a' (first at line 1)"),
        # A key spelled with an escape is the same key to the parser, so it overrides just the same.
        ('{"visibility": "restricted",\n "visibilit\\u0079": "public"}', ":line 2: duplicate key 'visibility'"),
        # Escaped quotes and braces inside keys and values do not confuse where a key is.
        (
            '{"k\\"}{": "v\\"}", "z": [{"k\\"}{": 1}],\n"n": {"q": "\\\\"},\n "k\\"}{": 2}',
            ":line 3: duplicate key 'k\"}{' (first at line 1)",
        ),
        # Deep inside: the innermost object with a duplicate is reported.
        ('{"a": [{"b": {"c": 1,\n\n"c": 2}}], "a": 3}', ":line 3: duplicate key 'c' (first at line 1)"),
        ('[{"x": 1}, {"y": 1, "y": 2}]', ":line 1: duplicate key 'y' (first at line 1)"),
    ],
)
def test_json_duplicate_keys_are_refused_with_their_line(text, expected):
    with pytest.raises(InvalidSource) as error:
        parse_text(Path("a.json"), text)
    assert str(error.value).startswith(f"a.json{expected}")


def test_json_same_key_in_different_objects_is_fine():
    assert parse_text(Path("a.json"), '{"a": {"x": 1}, "b": [{"x": 2}, {"x": {"x": 3}}], "x": 4}') == {
        "a": {"x": 1},
        "b": [{"x": 2}, {"x": {"x": 3}}],
        "x": 4,
    }


def test_json_errors_and_depth_are_unchanged():
    with pytest.raises(InvalidSource, match=r"^a\.json:line 2: invalid JSON: Expecting property name"):
        parse_text(Path("a.json"), '{"a": 1,\n}')
    with pytest.raises(InvalidSource, match="nested deeper than"):
        parse_text(Path("a.json"), "[" * 100_000 + "]" * 100_000)


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("Patime*", ("Patime", True)),
        ("Patime\\*", ("Patime", True)),
        ("**Ahmetjan**", ("Ahmetjan", False)),
        ("\\*\\*Ahmetjan\\*\\*", ("Ahmetjan", False)),
        ("**Marat\\***", ("Marat", True)),
        ("Patime\uff0a", ("Patime", True)),
        ("Patime \u2217", ("Patime", True)),
        ("Patime\u066d", ("Patime", True)),
        ("Patime\\\uff0a", ("Patime", True)),
        (PERSIAN, (PERSIAN, False)),
        # Devanagari: the joiner follows a virama (a combining mark), as Indic scripts write it.
        ("\u0915\u094d\u200d\u0937", ("\u0915\u094d\u200d\u0937", False)),
        ("Ada \t\n Lee", ("Ada Lee", False)),
        ("Gu\u0308lnar*", ("G\u00fclnar", True)),
    ],
)
def test_parse_name_accepts(raw, expected):
    assert parse_name(raw) == expected


@pytest.mark.parametrize(
    "raw,reason",
    [
        ("Pati\u00adme", "'Pati\\xadme' contains U+00AD SOFT HYPHEN (an invisible character): remove it"),
        ("Patime\u2060*", "'Patime\\u2060*' contains U+2060 WORD JOINER (an invisible character): remove it"),
        ("\u200ePatime*", "'\\u200ePatime*' contains U+200E LEFT-TO-RIGHT MARK (a bidirectional control character): remove it"),
        ("Patime*\u2066", "'Patime*\\u2066' contains U+2066 LEFT-TO-RIGHT ISOLATE (a bidirectional control character): remove it"),
        ("Pa\x07time", "'Pa\\x07time' contains U+0007 (a control character): remove it"),
        ("Pa\x85time", "'Pa\\x85time' contains U+0085 (a control character): remove it"),
        ("Pa\u2028time", "'Pa\\u2028time' contains U+2028 LINE SEPARATOR (a line separator): remove it"),
        ("Pa\u2029time", "'Pa\\u2029time' contains U+2029 PARAGRAPH SEPARATOR (a paragraph separator): remove it"),
        ("Patime\ue000", "'Patime\\ue000' contains U+E000 (a private-use character): remove it"),
        ("Patime\ud800", "'Patime\\ud800' contains U+D800 (a lone surrogate): remove it"),
        ("Patime\U000e002a", "'Patime\\U000e002a' contains U+E002A TAG ASTERISK (an invisible character): remove it"),
        ("\u200cPatime", "'\\u200cPatime' contains U+200C ZERO WIDTH NON-JOINER outside a word (allowed only between two letters): remove it"),
        ("Pati \u200d me", "'Pati \\u200d me' contains U+200D ZERO WIDTH JOINER outside a word (allowed only between two letters): remove it"),
        ("*Patime", "'*Patime': a * inside a name is ambiguous: mark a pseudonym with one * at the end"),
        ("Pa\u2731time*", "'Pa✱time*': a * inside a name is ambiguous: mark a pseudonym with one * at the end"),
        ("**Ahmet*jan**", "'**Ahmet*jan**': a * inside a name is ambiguous: mark a pseudonym with one * at the end"),
        # Look-alike stars are not Markdown bold: when in doubt, the archivist decides.
        ("\uff0a\uff0aAhmetjan\uff0a\uff0a", "'＊＊Ahmetjan＊＊': a * inside a name is ambiguous: mark a pseudonym with one * at the end"),
        ("*", "'*' is not a name: it has no letter"),
        ("2019-2021", "'2019-2021' is not a name: it has no letter"),
        ("-- ?", "'-- ?' is not a name: it has no letter"),
    ],
)  # fmt: skip
def test_parse_name_refuses(raw, reason):
    with pytest.raises(ValueError) as error:
        parse_name(raw)
    assert str(error.value) == reason


def test_star_like_is_every_asterisk_star_asterism_reference_mark_and_dagger():
    """Every code point whose Unicode name holds ASTERISK, ASTERISM, REFERENCE MARK or DAGGER, or the word
    STAR (less letters): ⁑ TWO ASTERISKS ALIGNED VERTICALLY and † DAGGER included."""
    expected = {
        char
        for char in map(chr, range(sys.maxunicode + 1))
        if unicodedata.category(char)[0] not in "LC"
        and (
            "STAR" in unicodedata.name(char, "").split()
            or any(part in unicodedata.name(char, "") for part in ("ASTERISK", "ASTERISM", "REFERENCE MARK", "DAGGER"))
        )
    }
    found = {char for char in map(chr, range(sys.maxunicode + 1)) if star_like(char)}
    assert found == expected | {"*"}
    assert {"\uff0a", "\u2217", "\u066d", "\u22c6", "\u2605", "\u2736", "\u2042", "\u203b", "\u2051", "\u2020"} <= found


@pytest.mark.parametrize("mark", ["\u2665", "\u2055", "\u22b9", "\u02df", "#", "?", "!", ","])
def test_a_name_ending_in_another_mark_is_refused(mark):
    with pytest.raises(ValueError) as error:
        parse_name(f"Patime{mark}")
    assert str(error.value).startswith(f"{'Patime' + mark!r} ends with U+{ord(mark):04X}")
    assert str(error.value).endswith(": if it marks a pseudonym, write *")


@pytest.mark.parametrize("name", ["Ali Jr.", "O'", "Ayse (Ayşe)", "<b>x</b>", "Ward 3", 'Zhu "Little Zhu"'])
def test_a_name_may_end_with_a_letter_digit_or_closing_mark(name):
    assert parse_name(name) == (name, False)


@pytest.mark.parametrize("char", ["\u034f", "\ufe0f", "\U000e0100", "\u180b", "\u3164", "\u2800", "\u17b4"])
def test_default_ignorable_characters_in_a_name_are_refused(char):
    """Shown as nothing though Unicode files them as marks or letters: a second, invisible spelling."""
    with pytest.raises(ValueError) as error:
        parse_name(f"Meryem{char} Tash")
    assert f"contains U+{ord(char):04X}" in str(error.value)
    with pytest.raises(ValueError):
        parse_name(char)
