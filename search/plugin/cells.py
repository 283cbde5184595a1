"""How the archive's values look on Datasette's pages: a pseudonym marker beside every pseudonymous
name, a person's label with its star, private fields decrypted for the archivist's eyes only, and a
testimony's words in the tables (wrapped, so the table page can show their first lines).

Every name and flag is read through the store (`ingest.store`), on Datasette's connection
(`execute_fn`); everything rendered goes through `markupsafe.escape`.
"""

import os
import sqlite3
from functools import lru_cache

from markupsafe import Markup, escape
from testimony_archive.ingest import crypto, store
from testimony_archive.ingest.vocabulary import PSEUDONYM_MARK

from .searching import TABLE

PSEUDONYM_TITLE = "Pseudonym: the name was changed to protect the person"
PEOPLE = "people"
SUBJECTS = "testimony_subjects"
PRIVATE_FIELDS = "private_fields"
FERNET_PREFIX = "gAAAA"  # how every Fernet token begins (its version byte and timestamp, base64)
# Names shown as text, and the columns holding a person's id (shown as a link to the person).
NAME_COLUMNS = {(TABLE, "speaker"), (PEOPLE, "name")}
PERSON_COLUMNS = {(TABLE, "speaker_id"), (SUBJECTS, "person_id")}
UNKNOWN = store.Name("", True)  # a name nothing identifies: marked (see name_of)


def marker() -> Markup:
    return Markup('<abbr class="pseudonym" title="{}">{}</abbr>').format(PSEUDONYM_TITLE, PSEUDONYM_MARK)


def pseudonym_name(name, is_pseudonym) -> Markup:
    """A name with the marker after it if it is a pseudonym's. A name already printed with its star (the
    testimonies table's `speaker` column) gets the marker in place of the star."""
    if not is_pseudonym:
        return escape(name)
    return escape(str(name).removesuffix(PSEUDONYM_MARK)) + marker()


async def ask(datasette, database: str, question, *args):
    """One of the store's read functions, on Datasette's connection to `database`."""
    return await datasette.get_database(database).execute_fn(lambda conn: question(conn, *args))


def render_cell(row, value, column, table, database, datasette):
    if value is None:
        return None
    if isinstance(value, dict):  # a foreign key Datasette has already expanded to {"value", "label"}
        value = value.get("value")
    if table is None:  # a query's page: the flag, if any, sits beside the name
        return flagged_name(row, value, column)
    if table == PRIVATE_FIELDS and column == "value" and str(value).startswith(FERNET_PREFIX):
        # Only a full archive has this table, and the gate shows it to the archivist alone. Encrypted at
        # rest, shown in clear on the page when this server holds the archive key; never in JSON or CSV.
        return private_value(value)
    if (table, column) in NAME_COLUMNS:

        async def name_cell():
            return pseudonym_name(value, (await name_of(datasette, database, table, row, value)).is_pseudonym)

        return name_cell
    if (table, column) in PERSON_COLUMNS:

        async def person_cell():
            person = await name_of(datasette, database, table, row, value, person_id=value)
            if person is UNKNOWN:
                return None
            url = datasette.urls.row(database, PEOPLE, value)
            return Markup('<a href="{}">{}</a>').format(url, pseudonym_name(person.name, person.is_pseudonym))

        return person_cell
    if (table, column) == (TABLE, "text") and isinstance(value, str):
        # The table page shows the first lines (archive.css clamps .excerpt); the words stay whole in the page.
        language = row["language"] if "language" in set(row.keys()) and row["language"] else None
        if language:
            return Markup('<div class="excerpt" lang="{}">{}</div>').format(language, value)
        return Markup('<div class="excerpt">{}</div>').format(value)
    return None


async def name_of(datasette, database, table, row, value, person_id=None) -> store.Name:
    """Who a cell names, by the surest key the row has: its own flag, the person's id, the testimony's id.

    A page may leave any column out (`?_col=speaker`, `?_nocol=speaker_is_pseudonym`, `?_facet=...`);
    Datasette keeps the primary key in every row of a table page, so the testimony's or the person's id
    is always there in practice. A row with no key at all, or a key the archive no longer holds, names
    somebody the archive cannot tell: UNKNOWN, which is marked. When in doubt the archive marks: a real
    name shown with a pseudonym's star misleads less than a pseudonym shown as a real name."""
    keys = set(row.keys())  # a sqlite3.Row: `in row` would test its values
    flags = {TABLE: ("speaker", "speaker_is_pseudonym"), PEOPLE: ("name", "is_pseudonym")}.get(table)
    if flags and set(flags) <= keys:
        flag = bool(row[flags[1]])
        name = row[flags[0]]
        # Since schema 6 the testimonies' speaker column holds the name as printed: the Name holds it as written.
        return store.Name(name.removesuffix("*") if flag and isinstance(name, str) else name, flag)
    if person_id is None and table == PEOPLE and "id" in keys:
        person_id = row["id"]
    if person_id is None and table == TABLE and "speaker_id" in keys:
        person_id = row["speaker_id"]["value"] if isinstance(row["speaker_id"], dict) else row["speaker_id"]
    if person_id is not None:
        found = await ask(datasette, database, store.person, person_id)
    elif table == TABLE and "id" in keys:
        found = await ask(datasette, database, store.speaker_of, row["id"])
    else:
        found = None
    return found or UNKNOWN


def flagged_name(row, value, column):
    """A name on a query's page (a canned query, ?sql=) is marked when the query has its flag beside it:
    `speaker` by `speaker_is_pseudonym`, `subject` by `subject_is_pseudonym`, a person's `name` by
    `is_pseudonym`."""
    keys = set(row.keys())
    candidates = [f"{column}_is_pseudonym"] + (["is_pseudonym"] if column == "name" else [])
    flag = next((name for name in candidates if name in keys), None)
    if flag is None or not isinstance(value, str):
        return None
    return pseudonym_name(value, row[flag])


def private_value(token: str) -> Markup:
    try:
        key = crypto.load_key()
        return escape(key.decrypt(token)) if key else Markup("<em>encrypted (no archive key on this server)</em>")
    except crypto.KeyProblem:
        return Markup("<em>encrypted with another key</em>")


def labels(datasette) -> dict | None:
    """A person's label is the name as the archive prints it (`Patime*`): Datasette shows the label in
    expanded foreign keys, their facets and the JSON and CSV exports with `_labels`, and would otherwise
    pick `name` and drop the pseudonym's star. Given for every archive served, with or without the
    project's metadata.yml."""
    labelled = [name for name, db in datasette.databases.items() if people_have_display_name(db.path)]
    if not labelled:
        return None
    people = {"tables": {PEOPLE: {"label_column": "display_name"}}}
    return {"databases": dict.fromkeys(labelled, people)}


def people_have_display_name(path) -> bool:
    """Asked of the file (Datasette's get_metadata hook cannot wait for a query), once per change of it."""
    try:
        stamp = os.stat(path).st_mtime_ns
    except (OSError, TypeError):
        return False
    return _display_name_column(str(path), stamp)


@lru_cache(maxsize=64)
def _display_name_column(path: str, stamp: int) -> bool:
    try:
        conn = store.connect_read_only(path)
        try:
            return store.people_have_display_name(conn)
        finally:
            conn.close()
    except sqlite3.Error:
        return False
