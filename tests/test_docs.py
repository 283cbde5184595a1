"""The README matches the CLI: every command has help text and is documented."""

import re

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
