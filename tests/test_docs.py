"""The README matches the CLI: every command has help text and is documented."""

import re

from testimony_archive.ingest import store
from testimony_archive.ingest.cli import app
from typer.main import get_command

from .conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def commands():
    return get_command(app).commands


def test_every_command_has_help_and_is_in_the_readme():
    assert len(commands()) >= 12
    for name, command in commands().items():
        assert command.help and command.help.strip(), name
        assert f"`testimony {name}" in README, name


def test_every_option_of_every_command_is_in_the_readme_or_help():
    for name, command in commands().items():
        for param in command.params:
            for option in getattr(param, "opts", []):
                if option.startswith("--") and option not in ("--help",):
                    assert option in README or (param.help and param.help.strip()), (name, option)


def test_readme_promises_the_two_commands():
    assert "make serve" in README and "make test" in README
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^serve:", makefile, re.M) and re.search(r"^test:", makefile, re.M)
    assert "make test" in (ROOT / ".ci" / "run").read_text()


PACKAGES = ("ingest", "search")
ARCHIVE_TABLES = list(store.TABLES)
SQL = re.compile(r"(?i)\b(select|insert\s+into|delete\s+from|update\s+\S+\s+set|create\s+table|join|pragma)\b")
TABLE_WORD = re.compile(rf"\b({'|'.join(ARCHIVE_TABLES)})\b")
TABLE_API = {"insert", "insert_all", "upsert", "upsert_all", "count", "exists", "rows_where", "delete_where", "create"}


def modules():
    return sorted(path for package in PACKAGES for path in (ROOT / package).rglob("*.py"))


def test_no_module_but_the_store_holds_sql_against_archive_tables():
    """The store owns every SQL statement against an archive: no other module names a table in SQL or
    reaches a table through sqlite-utils (`db["testimonies"].insert`)."""
    import ast

    found = []
    for path in modules():
        if path == ROOT / "ingest" / "store.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
            and node.body
            and isinstance(node.body[0], ast.Expr)
            and isinstance(node.body[0].value, ast.Constant)
        }
        for node in ast.walk(tree):
            text = node.value if isinstance(node, ast.Constant) and id(node) not in docstrings else None
            if isinstance(text, str) and SQL.search(text) and TABLE_WORD.search(text):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value[:60]!r}")
            if (
                isinstance(node, ast.Attribute)
                and node.attr in TABLE_API
                and isinstance(node.value, ast.Subscript)
                and isinstance(node.value.slice, ast.Constant)
                and node.value.slice.value in ARCHIVE_TABLES
            ):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: [{node.value.slice.value!r}].{node.attr}")
    assert not found, found
    # A positive control: the same scan finds the store's own statements.
    store_text = (ROOT / "ingest" / "store.py").read_text(encoding="utf-8")
    assert SQL.search("select id from testimonies") and TABLE_WORD.search(store_text)


def test_the_code_map_names_every_module():
    """The README's code map is kept true: one line for each module, and no line for a module that is gone."""
    section = README.split("## Code map", 1)[1].split("\n## ", 1)[0]
    named = set(re.findall(r"`((?:ingest|search)/[\w/]+\.py)`", section))
    actual = {
        str(path.relative_to(ROOT))
        for path in modules()
        if path.name != "__init__.py" or path.parent.name in ("extract", "plugin")
    }
    actual = {name.replace("/__init__.py", "/__init__.py") for name in actual}
    assert named == actual, (sorted(actual - named), sorted(named - actual))


def test_every_picture_the_readme_shows_is_one_the_browser_test_takes():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    pictures = re.findall(r"\]\((docs/screenshots/([\w-]+)\.png)\)", readme)
    taken = set(re.findall(r'shoot\(page, "([\w-]+)"\)', (ROOT / "tests" / "test_journalist.py").read_text()))
    assert {"home", "search", "testimony", "person", "source", "table"} <= {name for _, name in pictures}
    for path, name in pictures:
        assert (ROOT / path).is_file(), f"{path}: run make screenshots"
        assert name in taken, f"{path} is not taken by tests/test_journalist.py"
