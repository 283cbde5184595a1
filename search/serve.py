"""Build the Datasette instance `testimony serve` runs (and the tests drive through its ASGI client).

`metadata.yml` describes the archive under the database key `archive`; it is applied to whichever
database file is served (`archive.db`, `public.db`, ...), so one file documents both archives.
"""

import copy
import os
from pathlib import Path

import yaml
from datasette.app import Datasette
from testimony_archive.ingest import store

from . import index as search_index
from .plugin import ARCHIVIST, PASSWORD_ENV  # one definition, shared with the plugin's gate

METADATA_PATH = Path(__file__).resolve().parent.parent / "metadata.yml"
METADATA_DATABASE_KEY = "archive"

# Defaults for serving an archive of sensitive material in public.
SETTINGS = {
    "allow_download": False,  # no whole-database download
    "sql_time_limit_ms": 1500,
    "facet_time_limit_ms": 500,
    "max_returned_rows": 1000,
    "default_page_size": 50,
    "allow_signed_tokens": False,
    # No caching: a browser or a proxy would keep a page of a taken-down testimony for as long as it lasts.
    "default_cache_ttl": 0,
}


def load_metadata(database_name: str, index_dir: Path | None = None, path: Path = METADATA_PATH) -> dict:
    metadata = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    databases = metadata.get("databases", {})
    if METADATA_DATABASE_KEY in databases and database_name != METADATA_DATABASE_KEY:
        databases[database_name] = databases.pop(METADATA_DATABASE_KEY)
    plugin = metadata.setdefault("plugins", {}).setdefault("testimony", {})
    if index_dir is not None:
        plugin.setdefault("indexes", {})[database_name] = str(index_dir)
    return metadata


def make_datasette(
    db_path: Path,
    index_dir: Path | None = None,
    settings: dict | None = None,
    metadata: dict | None = None,
    require_login: bool = False,
) -> Datasette:
    """A Datasette serving one archive with the project's metadata, plugin and public-serving defaults.

    With `require_login`, every page needs the archivist's login (datasette-auth-passwords, the password
    hash read from the TESTIMONY_ARCHIVIST_PASSWORD_HASH environment variable, never from a file). A full
    archive is locked to everyone else by the plugin's gate whether or not this is asked.
    """
    db_path = Path(db_path)
    index_dir = Path(index_dir) if index_dir else search_index.index_dir_for(db_path)
    metadata = copy.deepcopy(metadata) if metadata is not None else load_metadata(db_path.stem, index_dir)
    if require_login:
        metadata["allow"] = {"id": ARCHIVIST}
        metadata.setdefault("plugins", {})["datasette-auth-passwords"] = {
            f"{ARCHIVIST}_password_hash": {"$env": PASSWORD_ENV}
        }
    # Suggested facets: off unless metadata's `plugins: testimony: suggest_facets: true` asks (they were
    # 61 of a table page's 87 SQL statements at 20,000 testimonies, and more than half its time).
    suggest = bool((metadata.get("plugins", {}).get("testimony") or {}).get("suggest_facets", False))
    return Datasette(
        [str(db_path)],
        metadata=metadata,
        settings={**SETTINGS, "suggest_facets": suggest, **(settings or {})},
        # A fixed secret (from the environment) keeps logins valid across restarts and workers.
        secret=os.environ.get("DATASETTE_SECRET") or None,
    )


def refusal(archive, db_path: Path, login: bool) -> str | None:
    """Why `testimony serve` will not serve this archive (None when it will): a full archive (what ingest
    writes) is served only behind the archivist login. The plugin's gate holds the same rule for every
    other way of starting Datasette; this says it before a server starts, with what the archive holds."""
    if login or store.archive_kind(archive) != "full":
        return None
    held = ", ".join(f"{count} {name}" for name, count in store.sensitive_counts(archive).items() if count)
    return (
        f"{db_path} is a full archive ({held or 'no restricted rows yet'}; it also keeps file paths, takedown "
        f"reasons and the audit log). Serve the public archive (testimony publish --db {db_path} --out public.db) "
        f"or set {PASSWORD_ENV} (testimony password-hash) to require a login."
    )
