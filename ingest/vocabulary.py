"""The archive's words, defined once: facet names, the search filters they become, how a pseudonym is
printed, what counts as "yes" in a query string or a filter, and the archive's clock.

ingest writes with these names, the index stores them, search.api filters on them and the plugin
shows them. A new facet is named here, then given its index field (search.index.build_schema), its
value (search.index.facet_record) and its filter (search.api.FILTERS); an index built for another list
of FACETS is rebuilt, never misread.
"""

import datetime

# Facets, in the order pages show them. Each is a field of the index and a filter of `search`.
FACETS = ("role", "status", "relationship", "publisher", "tags", "year", "language", "pseudonym")

# The words a filter or a query-string switch accepts for yes and for no. Anything else is an error,
# never a silent "no" (`pseudonym:maybe` is refused).
YES = ("1", "yes", "true", "on")
NO = ("0", "no", "false", "off")

PSEUDONYM_MARK = "*"


def display_name(name: str | None, is_pseudonym) -> str | None:
    """How a name is printed everywhere: a pseudonym keeps its star (`Patime*`)."""
    if name is None:
        return None
    return f"{name}{PSEUDONYM_MARK}" if is_pseudonym else name


def truthy(value) -> bool:
    """A query-string switch (`?exact_names=1`): on for any of YES, off for anything else."""
    return str(value).strip().lower() in YES


def yes_or_no(value) -> bool:
    """A filter's yes/no value (`pseudonym:yes`): one of YES or NO, or a ValueError naming both."""
    text = str(value).strip().lower()
    if text in YES:
        return True
    if text in NO:
        return False
    raise ValueError(f"expected yes or no, not {value!r}")


def now() -> str:
    """The archive's timestamps: UTC, to the second, ISO 8601."""
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
