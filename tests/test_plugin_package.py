"""The plugin is a package Datasette loads as it is: its templates found without help, shipped in the
wheel, and no SQL of its own against the archive (it asks the store)."""

import fnmatch
import re
import subprocess
import sys
import tomllib

from datasette.app import Datasette
from testimony_archive.ingest import store
from testimony_archive.search import plugin

from .conftest import ROOT

PACKAGE = "testimony_archive.search.plugin"
FOLDER = ROOT / "search" / "plugin"


async def test_datasette_finds_the_plugins_templates_itself():
    datasette = Datasette([])
    plugins = (await datasette.client.get("/-/plugins.json")).json()
    ours = [entry for entry in plugins if "filters_from_request" in entry["hooks"] and "render_cell" in entry["hooks"]]
    assert len(ours) == 1 and ours[0]["templates"] is True and ours[0]["static"] is True, plugins
    # prepare_jinja2_environment only edits Datasette's own templates (search.plugin.accessible) and adds
    # filters: the plugin's templates are found by Datasette from the package's templates/ folder.
    await datasette.invoke_startup()
    for name in ("row.html", "table.html", "index.html", "testimony_search.html", "_testimony.html", "_person.html"):
        assert datasette.jinja_env.get_template(name).filename == str(FOLDER / "templates" / name)


def test_the_templates_are_in_the_package_data():
    """What `pip wheel .` ships (checked by hand: the wheel holds testimony_archive/search/plugin/templates/)."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    assert PACKAGE in config["packages"]
    assert config["package-dir"]["testimony_archive.search"] == "search"
    patterns = config["package-data"][PACKAGE]
    templates = [
        path.relative_to(FOLDER).as_posix()
        for folder in ("templates", "static")
        for path in (FOLDER / folder).rglob("*")
        if path.is_file()
    ]
    assert any(t.startswith("static/") for t in templates) and any(t.startswith("templates/") for t in templates)
    for template in templates:
        assert any(fnmatch.fnmatch(template, pattern) for pattern in patterns), template


def test_the_plugin_names_no_archive_table_in_sql():
    tables = "|".join(re.escape(name) for name in store.TABLES)
    sql = re.compile(rf"\b(from|join|into|update)\s+[\"\[`]?({tables})\b|table_info\W+({tables})\b", re.IGNORECASE)
    for module in FOLDER.glob("*.py"):
        source = module.read_text(encoding="utf-8")
        assert not sql.search(source), (module.name, sql.search(source).group(0))
        assert "sqlite_master" not in source, module.name


def test_the_hooks_are_in_the_packages_init():
    hooks = {name for name in dir(plugin) if hasattr(getattr(plugin, name), "datasette_impl")}
    assert {"render_cell", "permission_allowed", "asgi_wrapper", "register_routes", "startup"} <= hooks


def test_the_hooks_register_whichever_module_is_imported_first():
    """Datasette loads its entry points when datasette.plugins is first imported: a plugin module that
    imports it at the top would be registered before its hooks exist."""
    for first in (PACKAGE, "datasette.app"):
        check = f"""
import {first}
from datasette.plugins import pm
from {PACKAGE} import gate
hooks = {{impl.plugin_name for impl in pm.hook.register_routes.get_hookimpls()}}
assert "testimony" in hooks, hooks
"""
        result = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True)
        assert result.returncode == 0, (first, result.stderr)
