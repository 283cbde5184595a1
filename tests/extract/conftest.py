"""Helpers for the tests of `ingest.extract`.

Each fixture in tests/fixtures/extract/ is an invented release written the way NGO releases and their
text exports are; the tests assert the whole draft it gives, its warnings, and that the YAML written for
it loads back and passes the schema.
"""

import json
from pathlib import Path

import yaml
from jsonschema import Draft202012Validator
from testimony_archive.ingest.extract import Draft, draft_to_yaml
from testimony_archive.ingest.extract.draft import is_placeholder

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "extract"
SCHEMA = json.loads((ROOT / "schema" / "source.schema.json").read_text(encoding="utf-8"))


def fixture(name: str) -> Path:
    return FIXTURES / name


def reloaded(draft: Draft, source_name: str = "release.txt") -> dict:
    """The draft as written to YAML and read back, checked against the schema once its `draft` line is gone."""
    document = yaml.safe_load(draft_to_yaml(draft, source_name))
    assert document.pop("draft")  # an archivist deletes it after review; until then nothing ingests it
    # The schema refuses each placeholder too (so editors flag them); every other error is a bug.
    errors = [
        error.message
        for error in Draft202012Validator(SCHEMA).iter_errors(document)
        if not (isinstance(error.instance, str) and is_placeholder(error.instance))
    ]
    assert errors == []
    return document


def paragraphs(testimony: dict) -> list[str]:
    return testimony["text"].split("\n\n")
