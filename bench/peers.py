"""The peers `testimony ingest` is measured against, built from the same corpus files.

- A naive Whoosh writer: one process reads every source file and adds each testimony to an index made
  with the archive's own schema (`search.index.build_schema()`), through the default `ix.writer()` and
  one commit at the end. It fills only `NAIVE_FIELDS` (id, text, speaker, subject, title, tag); no
  validation, no SQLite, no stemmed per-language fields, no name-variant keys, no facet column.
- SQLite FTS5: `sqlite-utils` inserts the same records into a table, then
  `enable_fts(FTS_COLUMNS, fts_version="FTS5")` indexes them (tokenizer `unicode61 remove_diacritics 2`,
  which folds case and accents as the archive does). The table keeps the columns the query mix filters
  and facets on, so FTS5 can answer the same questions (see `bench.queries`).

Each builder runs in its own process (`python -m bench.peers whoosh|fts5 CORPUS TARGET`) so that it is
timed like `testimony ingest`: interpreter start, imports, reading YAML, writing, committing.
"""

import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import sqlite_utils
import typer
import yaml

NAIVE_FIELDS = ("id", "text", "speaker", "subject", "title", "tag")
NAIVE_INDEX_NAME = "naive"
FTS_TABLE = "testimonies"
FTS_COLUMNS = ["text", "speaker", "subject", "title", "tag"]
FTS_TOKENIZE = "unicode61 remove_diacritics 2"
SNIPPET_TOKENS = 48  # about the archive's 320 characters; FTS5 allows at most 64
PAGE_SIZE = 20
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _name(value) -> tuple[str, bool]:
    if isinstance(value, dict):
        return value["name"].rstrip("*").strip(), bool(value.get("pseudonym")) or value["name"].endswith("*")
    return value.rstrip("*").strip(), value.endswith("*")


def read_corpus(corpus: Path) -> Iterator[dict]:
    """Every testimony of every source file under `corpus`, flattened into one record (in file order)."""
    for path in sorted(Path(corpus).rglob("*.yaml")):
        document = yaml.load(path.read_text(encoding="utf-8"), Loader=LOADER)  # noqa: S506 - a safe loader
        source = document["source"]
        source_tags = source.get("tags") or []
        published = str(source["published"])
        for position, testimony in enumerate(document["testimonies"]):
            speaker, is_pseudonym = _name(testimony["speaker"])
            subjects = testimony.get("subjects") or []
            tags = list(dict.fromkeys((testimony.get("tags") or []) + source_tags))
            date = str(testimony.get("date") or published)
            yield {
                "id": f"{path.relative_to(corpus)}#{position}",
                "text": testimony["text"],
                "speaker": speaker,
                "subject": "\n".join(_name(s["name"])[0] for s in subjects if s.get("name")),
                "title": source["title"],
                "tag": ",".join(tag.replace(",", " ") for tag in tags),
                "role": testimony.get("role"),
                "statuses": json.dumps(sorted({s["status"] for s in subjects if s.get("status")})),
                "relationships": json.dumps(sorted({s["relationship"] for s in subjects if s.get("relationship")})),
                "tags": json.dumps(tags, ensure_ascii=False),
                "publisher": source["publisher"],
                "language": testimony.get("language") or source.get("language", "en"),
                "year": int(date[:4]),
                "date": date,
                "pseudonym": int(is_pseudonym),
            }


def build_naive_whoosh(corpus: Path, index_dir: Path) -> int:
    """Index the corpus the naive way; returns the number of documents."""
    from testimony_archive.search.index import build_schema
    from whoosh import index as whoosh_index

    index_dir.mkdir(parents=True, exist_ok=True)
    ix = whoosh_index.create_in(str(index_dir), build_schema(), indexname=NAIVE_INDEX_NAME)
    writer = ix.writer()
    count = 0
    for record in read_corpus(corpus):
        writer.add_document(**{name: record[name] for name in NAIVE_FIELDS})
        count += 1
    writer.commit()
    ix.close()
    return count


def build_fts5(corpus: Path, db_path: Path) -> int:
    """Insert the corpus with sqlite-utils and index it with FTS5; returns the number of rows."""
    db = sqlite_utils.Database(db_path)
    db[FTS_TABLE].insert_all(read_corpus(corpus), batch_size=1000)
    db[FTS_TABLE].enable_fts(FTS_COLUMNS, fts_version="FTS5", tokenize=FTS_TOKENIZE)
    count = db[FTS_TABLE].count
    db.close()
    return count


# -- searching FTS5 ----------------------------------------------------------------------------------

MATCHES = f"""select t.* from {FTS_TABLE}_fts join {FTS_TABLE} t on t.rowid = {FTS_TABLE}_fts.rowid
where {FTS_TABLE}_fts match ?{{where}}"""
TOP_HITS = f"""select t.id, snippet({FTS_TABLE}_fts, 0, '<mark>', '</mark>', ' … ', {SNIPPET_TOKENS}) as snippet
from {FTS_TABLE}_fts join {FTS_TABLE} t on t.rowid = {FTS_TABLE}_fts.rowid
where {FTS_TABLE}_fts match ?{{where}} order by {FTS_TABLE}_fts.rank limit {PAGE_SIZE}"""
# The archive's facets (ingest.vocabulary.FACETS), counted over every match as the archive counts them.
FACETS = f"""with m as materialized ({MATCHES})
select 'total', null, count(*) from m
union all select 'role', role, count(*) from m group by role
union all select 'publisher', publisher, count(*) from m group by publisher
union all select 'year', year, count(*) from m group by year
union all select 'language', language, count(*) from m group by language
union all select 'pseudonym', pseudonym, count(*) from m group by pseudonym
union all select 'status', j.value, count(*) from m, json_each(m.statuses) j group by j.value
union all select 'relationship', j.value, count(*) from m, json_each(m.relationships) j group by j.value
union all select 'tags', j.value, count(*) from m, json_each(m.tags) j group by j.value"""


class Fts5Search:
    """The FTS5 peer's search: top hits with `snippet()`, and optionally the total and facet counts."""

    def __init__(self, db_path: Path):
        self.conn = sqlite3.connect(str(db_path), check_same_thread=False)

    def close(self):
        self.conn.close()

    def search(self, match: str, where: str = "", params: tuple = (), facets: bool = True) -> dict:
        clause = f" and {where}" if where else ""
        hits = self.conn.execute(TOP_HITS.format(where=clause), (match, *params)).fetchall()
        result = {"hits": hits}
        if facets:
            counts: dict[str, dict] = {}
            for name, value, count in self.conn.execute(FACETS.format(where=clause), (match, *params)):
                counts.setdefault(name, {})[value] = count
            result["total"] = counts.pop("total")[None]
            result["facets"] = counts
        return result


app = typer.Typer(add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None)
CorpusArgument = Annotated[Path, typer.Argument(help="Folder of source files.", exists=True, file_okay=False)]


def _report(count: int, started: float) -> None:
    typer.echo(json.dumps({"documents": count, "seconds": round(time.perf_counter() - started, 3)}))


@app.command()
def whoosh(
    corpus: CorpusArgument,
    index_dir: Annotated[Path, typer.Argument(help="Index folder to create.", file_okay=False)],
):
    """Naive Whoosh: every testimony through one default writer and one commit."""
    started = time.perf_counter()
    _report(build_naive_whoosh(corpus, index_dir), started)


@app.command()
def fts5(corpus: CorpusArgument, db: Annotated[Path, typer.Argument(help="SQLite file to create.", dir_okay=False)]):
    """SQLite FTS5: sqlite-utils insert, then enable_fts."""
    started = time.perf_counter()
    _report(build_fts5(corpus, db), started)


if __name__ == "__main__":
    app()
