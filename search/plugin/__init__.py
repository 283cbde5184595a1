"""The Datasette plugin: our Whoosh search inside Datasette. The hooks, each handing its work to a module
beside it:

- searching: `?_search=` on the testimonies table, through `search.api`;
- facets: the testimonies table's default facets, counted from the index (SQL when other filters narrow);
- pages: the `/-/search` page;
- cells: pseudonym markers, people's labels, private fields;
- reading: the pages a journalist reads and cites (testimony, person, source, home), permanent addresses
  and citation files;
- accessible: a page language, a main landmark and named form controls in Datasette's own templates;
- gate: while any database it serves is a full archive, Datasette answers 403 to everyone but the
  archivist, however it was started (`datasette archive.db`, `testimony serve`, `Datasette([...])`);
- search.hardening: no 500 for a bad request, one log line per error, formula-safe CSV, limited logins.

Datasette finds `templates/` beside this file itself (a plugin that is a package).
"""

from datasette import hookimpl

from .. import hardening
from . import accessible, cells, facets, gate, pages, reading, searching

# Imported from here by `testimony serve` (search.serve) and the query budget's tests.
from .gate import ARCHIVIST, PASSWORD_ENV  # noqa: F401
from .searching import pool_for  # noqa: F401

PLUGIN = "testimony-archive"  # the distribution's name: Datasette serves static/ at /-/static-plugins/PLUGIN/


@hookimpl
def filters_from_request(request, database, table, datasette):
    return searching.table_search(request, database, table, datasette)


@hookimpl(specname="filters_from_request")
def facets_on_real_columns(request, database, table, datasette):
    """`?_facet=` on a column the table lacks: a 400 before Datasette runs (and logs) the facet's SQL."""
    return hardening.facet_columns_checked(request, database, table, datasette)


@hookimpl
def extra_template_vars(template, database, table, view_name, request, datasette):
    if view_name == "index":
        return reading.index_vars(datasette, request)
    if view_name == "row":
        return reading.row_vars(datasette, database, table, request)
    if view_name == "table" and table == searching.TABLE:
        return searching.table_vars(request)
    return {}


@hookimpl
def register_facet_classes():
    return [facets.IndexFacet]


@hookimpl
def prepare_jinja2_environment(env, datasette):
    accessible.install(env)
    env.filters.update(reading.FILTERS)


@hookimpl
def extra_css_urls(datasette):
    return [datasette.urls.static_plugins(PLUGIN, "archive.css")]


@hookimpl
def render_cell(row, value, column, table, database, datasette):
    return cells.render_cell(row, value, column, table, database, datasette)


@hookimpl
def get_metadata(datasette, key, database, table):
    return cells.labels(datasette)


@hookimpl
def register_routes():
    return [
        (pages.ROUTE, pages.search_page),
        (reading.CITATION_ROUTE, reading.citation_file),
        (reading.PERMALINK_ROUTE, reading.permalink_page),
    ]


@hookimpl
def menu_links(datasette, actor):
    return [{"href": datasette.urls.path(pages.PATH), "label": "Search testimonies"}]


@hookimpl(trylast=True)
def permission_allowed(datasette, actor, action, resource):
    """trylast: Datasette keeps the last answer that is not None, so the gate's refusal overrides `allow`
    blocks, `--root` and other plugins. For the archivist it has no opinion, and the usual rules apply."""
    return lambda: gate.allowed(datasette, actor)


@hookimpl
def asgi_wrapper(datasette):
    return lambda app: gate.wrap(datasette, app)


@hookimpl(wrapper=True)
def handle_exception(datasette, request, exception):
    """Every error answered as a 404, a 400 or a 500 with one line in the log (search.hardening).

    A wrapper, because Datasette awaits every handler's answer: its default one, left in the list,
    would print a traceback with the local variables of every frame, for a 404 too. `--pdb` keeps it.
    """
    answers = yield
    if datasette.pdb:
        return answers
    return [hardening.error_response(datasette, request, exception)]


@hookimpl
def startup(datasette):
    return lambda: gate.on_startup(datasette)
