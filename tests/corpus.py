"""Write a synthetic corpus of valid source files for the process tests (seeded, so reproducible)."""

import random
from pathlib import Path

import yaml

WORDS = [
    "my",
    "brother",
    "was",
    "detained",
    "in",
    "the",
    "camp",
    "and",
    "we",
    "have",
    "had",
    "no",
    "letter",
    "since",
    "the",
    "police",
    "came",
    "at",
    "night",
    "prison",
    "trial",
    "sentenced",
    "visit",
    "phone",
    "call",
    "mother",
    "waited",
    "years",
    "re-education",
    "factory",
    "release",
]
NAMES = ["Mamatjan", "Memetjan", "Gulnar", "Oğuz", "Patime*", "Ablikim*", "Rahile", "Tursun", "Erkin", "Aziz"]
STATUSES = ["detained", "imprisoned", "died_in_detention", "disappeared", "released", "unknown"]
RELATIONSHIPS = ["brother", "sister", "father", "mother", "uncle", "son", "relative"]


def speaker_name(name: str, suffix: str) -> str:
    """'Patime*' + '3-1' -> 'Patime 3-1*': a pseudonym's star stays at the end of the name."""
    return f"{name.rstrip('*')} {suffix}" + ("*" if name.endswith("*") else "")


def write_corpus(folder: Path, files: int, per_file: int = 20, seed: int = 1) -> int:
    """`files` source files of `per_file` testimonies each; returns the number of testimonies."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for number in range(files):
        document = {
            "source": {
                "title": f"Report {number}",
                "publisher": rng.choice(["Rights Group A", "Rights Group B", "Campaign C"]),
                "published": f"20{rng.randint(18, 25)}-{rng.randint(1, 12):02d}",
                "url": f"https://example.org/reports/{seed}/{number}",
                "tags": rng.sample(["Detention", "China", "TORTURE", "Family separation"], 2),
            },
            "testimonies": [
                {
                    "speaker": speaker_name(rng.choice(NAMES), f"{number}-{index}"),
                    "role": "family",
                    "subjects": [
                        {
                            "name": rng.choice(NAMES),
                            "relationship": rng.choice(RELATIONSHIPS),
                            "status": rng.choice(STATUSES),
                        }
                    ],
                    "text": " ".join(rng.choice(WORDS) for _ in range(rng.randint(40, 120))) + f" ({number}-{index})",
                }
                for index in range(per_file)
            ],
        }
        (folder / f"source-{number:05d}.yml").write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return files * per_file
