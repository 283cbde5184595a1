"""What Datasette 0.65's own templates lack for assistive technology, added as they are loaded.

Its `base.html` gives no page language and no `<main>` landmark, and the table page's filter and sort
controls have no names a screen reader can say. Rather than keep copies of Datasette's templates (which
would drift from the installed version), `Loader` wraps the template loader and makes a few exact edits
to Datasette's own source as it is read: each is a (before, after) pair in EDITS. `missing_edits()`
names any edit whose text the installed Datasette no longer has, and a test fails on it, so an upgrade
cannot silently undo one.

The pages' language is English (LANGUAGE): the archive's own words carry their language where they are
shown (`lang` on a testimony's text and excerpts).
"""

from jinja2 import BaseLoader, Environment, TemplateNotFound

LANGUAGE = "en"

EDITS: dict[str, list[tuple[str, str]]] = {
    "base.html": [
        ("<html>", f'<html lang="{LANGUAGE}">'),
        ('<section class="content">', '<main id="main">\n<section class="content">'),
        ("</section>\n</div>\n<footer", "</section>\n</main>\n</div>\n<footer"),
    ],
    "table.html": [
        (
            '<select name="_filter_column_{{ loop.index }}">',
            '<select name="_filter_column_{{ loop.index }}" aria-label="Filter column">',
        ),
        (
            '<select name="_filter_op_{{ loop.index }}">',
            '<select name="_filter_op_{{ loop.index }}" aria-label="Filter operation">',
        ),
        (
            '<input type="text" name="_filter_value_{{ loop.index }}" class="filter-value"',
            '<input type="text" name="_filter_value_{{ loop.index }}" class="filter-value" aria-label="Filter value"',
        ),
        ('<select name="_filter_column">', '<select name="_filter_column" aria-label="Filter column">'),
        ('<select name="_filter_op">', '<select name="_filter_op" aria-label="Filter operation">'),
        (
            '<input type="text" name="_filter_value" class="filter-value">',
            '<input type="text" name="_filter_value" class="filter-value" aria-label="Filter value">',
        ),
        ('<select name="_sort" id="sort_by">', '<select name="_sort" id="sort_by" aria-label="Sort by">'),
    ],
}


class Loader(BaseLoader):
    """Datasette's loader, with EDITS made to Datasette's own templates (never to the plugin's)."""

    def __init__(self, inner: BaseLoader):
        self.inner = inner

    def get_source(self, environment: Environment, template: str):
        source, filename, uptodate = self.inner.get_source(environment, template)
        name = template.removeprefix("default:")
        if name in EDITS and is_datasettes(filename):
            for before, after in EDITS[name]:
                source = source.replace(before, after, 1)
        return source, filename, uptodate

    def list_templates(self):
        return self.inner.list_templates()


def is_datasettes(filename: str | None) -> bool:
    import datasette

    return bool(filename) and filename.startswith(datasette.__path__[0])


def install(env: Environment) -> None:
    if not isinstance(env.loader, Loader):
        env.loader = Loader(env.loader)


def missing_edits(env: Environment) -> list[str]:
    """Each edit whose `before` text the installed Datasette's template does not hold."""
    inner = env.loader.inner if isinstance(env.loader, Loader) else env.loader
    missing = []
    for name, edits in EDITS.items():
        try:
            source = inner.get_source(env, f"default:{name}")[0]
        except TemplateNotFound:
            missing.append(f"{name}: no such template")
            continue
        missing += [f"{name}: {before!r}" for before, _ in edits if before not in source]
    return missing
