"""The fast schema check (fastjsonschema) never accepts what jsonschema refuses.

`ingest.source.validate_document` takes fastjsonschema's yes as the answer and asks jsonschema whenever it
says no; so the one thing that must never happen is a yes where jsonschema says no. Held on every sample
and fixture source, generated files, and thousands of mutations of them (each kind of mutation counted,
so a generator that stopped producing refusals would fail too)."""

import copy
import json
import random
from collections import Counter
from pathlib import Path

import pytest
import yaml
from testimony_archive.ingest import source

from bench import generate

from .conftest import ROOT

MUTATIONS_PER_DOCUMENT = 60
ODD_VALUES = [
    None,
    True,
    False,
    0,
    -1,
    1.5,
    "",
    " ",
    "x",
    "Name\n",
    "\nName",
    "2019-13",
    "2019-02-30",
    "2019",
    "2019-04-02T00:00",
    "unknown",
    "family",
    "public",
    "restricted",
    "Patime*",
    "*",
    "UNRESOLVED: who said this?",
    "x" * 5000,
    [],
    ["x"],
    [1],
    {},
    {"name": "x"},
]


def sample_documents() -> list[dict]:
    documents = []
    for path in sorted((ROOT / "data").glob("*")) + sorted((ROOT / "tests" / "fixtures" / "sources").rglob("*")):
        if path.suffix in (".yaml", ".yml", ".json"):
            try:
                documents.append(source.parse_text(path, path.read_text(encoding="utf-8")))
            except (source.InvalidSource, UnicodeDecodeError, ValueError):
                continue
    documents += [generate.source_document(3, number, testimonies=3) for number in range(20)]
    return [d for d in documents if isinstance(d, dict)]


def paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from paths(value, (*prefix, index))


def mutate(document: dict, rng: random.Random) -> tuple[str, dict]:
    """One random change at one random place: a value replaced, a key removed or added, an item added."""
    document = copy.deepcopy(document)
    where = rng.choice([p for p in paths(document) if p])
    parent = document
    for part in where[:-1]:
        parent = parent[part]
    last = where[-1]
    kind = rng.choice(["replace", "remove", "add_key", "append"])
    if kind == "replace":
        parent[last] = copy.deepcopy(rng.choice(ODD_VALUES))
    elif kind == "remove":
        del parent[last]
    elif kind == "add_key" and isinstance(parent, dict):
        parent[rng.choice(["extra", "name", "private", "role", "status", "note"])] = rng.choice(ODD_VALUES)
    elif kind == "append" and isinstance(parent[last], list):
        parent[last].append(copy.deepcopy(rng.choice(ODD_VALUES + [parent[last][0] if parent[last] else 1])))
    else:
        kind = "replace"
        parent[last] = copy.deepcopy(rng.choice(ODD_VALUES))
    return kind, document


def jsonschema_valid(document) -> bool:
    return not any(True for _ in source.validator().iter_errors(document))


def test_samples_are_valid_both_ways():
    documents = sample_documents()
    assert len(documents) >= 25
    valid = [d for d in documents if jsonschema_valid(d)]
    assert len(valid) >= 20
    assert all(source.schema_valid(d) for d in valid)


def test_fast_check_never_accepts_what_jsonschema_refuses():
    rng = random.Random(15)
    verdicts: Counter = Counter()
    stricter = []
    for document in (d for d in sample_documents() if jsonschema_valid(d)):
        for _ in range(MUTATIONS_PER_DOCUMENT):
            kind, mutated = mutate(document, rng)
            # Through JSON, as a parsed file would be: tuples and other non-JSON values never reach the schema.
            mutated = json.loads(json.dumps(mutated))
            slow, fast = jsonschema_valid(mutated), source.schema_valid(mutated)
            verdicts[(kind, slow)] += 1
            assert not (fast and not slow), f"fastjsonschema accepted what jsonschema refuses ({kind}): {mutated}"
            if slow and not fast:
                stricter.append(mutated)
    # Both verdicts in quantity, from every kind of change that can make either.
    assert sum(n for (kind, ok), n in verdicts.items() if not ok) > 1000
    assert sum(n for (kind, ok), n in verdicts.items() if ok) > 100
    assert all(verdicts[(kind, False)] > 0 for kind in ("replace", "remove", "add_key"))
    # Where the fast check is stricter, validate_document still takes jsonschema's yes.
    for mutated in stricter[:50]:
        assert source.validate_document(Path("x.yaml"), mutated) is mutated


@pytest.mark.parametrize("text", ["name: x\n", "source: {}\ntestimonies: []\n", "- 1\n"])
def test_a_refused_file_gets_jsonschema_s_message(text):
    document = yaml.safe_load(text)
    with pytest.raises(source.InvalidSource) as refused:
        source.validate_document(Path("bad.yaml"), document)
    assert not source.schema_valid(document)
    assert "bad.yaml" in str(refused.value)
