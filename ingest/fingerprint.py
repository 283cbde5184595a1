"""Recognising a taken-down testimony again after an edit, without keeping its words.

A takedown keeps a *fingerprint* of each testimony it removes (stored encrypted, see `ingest.crypto`):
its id, its source's id, its speaker's name (folded), and a sample of its text: the `SKETCH_SIZE`
smallest hashes of the text's 5-character pieces ("shingles", taken after folding case, accents,
punctuation and spacing), with the number of pieces. A sample recognises a text; it cannot rebuild it.

A testimony *matches* a takedown (and is withheld until `testimony restore`) when:

1. it has the taken-down testimony's id (same source, speaker and text); or
2. its text is near-identical: the Jaccard similarity of the two texts' shingle sets is at least
   `NEAR_IDENTICAL`, whatever its source and speaker (an edited, re-typed, moved or re-attributed copy);
   or
3. it has the same source or a speaker of the same name, and one text mostly holds the other: the
   shingles they share are at least `OVERLAP` of the shorter text's (an excerpt, or a longer version);
   or, whatever its source and speaker, a long excerpt (`LONG_EXCERPT` pieces or more) almost wholly
   held by the other (`EXCERPT_OVERLAP`): the same words quoted at length by somebody else; or
4. it names (as speaker or subject) a person taken down: the same person id, or, for a real name, the
   same name up to case, accents and the spelling rules search uses (`Meryem Taş`, `MERYEM TASH`).

The similarity is estimated from the sample (bottom-k estimator; exact for texts of up to
`SKETCH_SIZE + 4` folded characters). The thresholds were set on the sample data and the test corpus:
no two different testimonies there come near them, while a one-character edit of even a short
testimony stays far above (measured: different testimonies of the sample data reach a Jaccard
similarity of 0.14 and, from one source or speaker, an overlap of 0.22; a one-character edit of a
35-character testimony keeps 0.74). When in doubt, the rule withholds: a testimony withheld by
mistake is let through by `testimony restore ID` (a clearance for that testimony alone).

Templated texts (a campaign's form letter signed by many families) are near-identical by this measure:
taking one down withholds the others until each is cleared.
"""

import heapq
import re
import unicodedata
import zlib
from dataclasses import dataclass, field

from anyascii import anyascii
from testimony_archive.search.names import variant_key, words

from .normalize import IGNORABLE

SHINGLE = 5
SKETCH_SIZE = 128
NEAR_IDENTICAL = 0.5
OVERLAP = 0.5
LONG_EXCERPT = 150
EXCERPT_OVERLAP = 0.8

NON_WORD = re.compile(r"[\W_]+")


def fold_text(text: str) -> str:
    """Case, accents, scripts, punctuation, spacing and invisible characters folded, so a re-typed copy
    compares equal: 'Oğuz said: "No!"' -> 'oguz said no'. Cyrillic look-alike letters (а е о р с) and
    other scripts are spelled in Latin letters (anyascii); zero-width and other default-ignorable
    characters are dropped (between every letter they would otherwise break every piece)."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    stripped = "".join(
        char
        for char in decomposed
        if not unicodedata.combining(char) and unicodedata.category(char) != "Cf" and char not in IGNORABLE
    )
    return NON_WORD.sub(" ", anyascii(stripped).casefold()).strip()


def shingles(text: str) -> set[int]:
    """Hashes of every 5-character piece of the folded text (the whole text when it is shorter)."""
    folded = fold_text(text)
    if len(folded) <= SHINGLE:
        return {zlib.crc32(folded.encode("utf-8"))} if folded else set()
    return {zlib.crc32(folded[i : i + SHINGLE].encode("utf-8")) for i in range(len(folded) - SHINGLE + 1)}


def speaker_key(name: str | None) -> str:
    return fold_text(name or "")


def person_key(name: str) -> tuple[str, ...]:
    """A real name as search compares names: case, accents, spelling variants and word order folded."""
    return tuple(sorted(variant_key(word) or fold_text(word) for word in words(name)))


def person_keys(name: str) -> set[tuple[str, ...]]:
    """Every form a taken-down real name is recognised by: as search spells its variants (`person_key`),
    and with only case, accents, scripts and word order folded, which the variant rules can set apart
    (they spell Turkish ş as sh: `Şükür` is shukur to them, `Sukur` sukur; folded, both are sukur)."""
    return {person_key(name), tuple(sorted(fold_text(word) for word in words(name)))}


@dataclass(frozen=True)
class Fingerprint:
    testimony_id: str
    source_id: str
    speaker: str  # folded name, without the pseudonym star
    size: int  # how many shingles the text has
    sketch: tuple[int, ...]  # the SKETCH_SIZE smallest, sorted

    @classmethod
    def of(cls, testimony_id: str, source_id: str, speaker: str, text: str) -> "Fingerprint":
        hashes = shingles(text)
        return cls(
            testimony_id, source_id, speaker_key(speaker), len(hashes), tuple(heapq.nsmallest(SKETCH_SIZE, hashes))
        )

    def to_payload(self) -> dict:
        return {
            "testimony_id": self.testimony_id,
            "source_id": self.source_id,
            "speaker": self.speaker,
            "size": self.size,
            "sketch": list(self.sketch),
        }

    @classmethod
    def from_payload(cls, payload: dict) -> "Fingerprint":
        return cls(
            payload["testimony_id"], payload["source_id"], payload["speaker"], payload["size"], tuple(payload["sketch"])
        )

    def shared(self, other: set[int]) -> float:
        """Estimated number of shingles this text shares with `other` (a whole shingle set)."""
        if not self.sketch or not other:
            return 0.0
        if self.size <= len(self.sketch):
            return float(len(other.intersection(self.sketch)))
        # Bottom-k: the k smallest hashes of the union are a uniform sample of it; count those in both.
        ceiling = self.sketch[-1]
        union_sample = heapq.nsmallest(SKETCH_SIZE, set(self.sketch).union(h for h in other if h <= ceiling))
        mine = set(self.sketch)
        both = sum(1 for h in union_sample if h in mine and h in other)
        jaccard = both / len(union_sample)
        return jaccard * (self.size + len(other)) / (1 + jaccard)


def similarity(fingerprint: Fingerprint, other: set[int]) -> tuple[float, float]:
    """(Jaccard, overlap) of a fingerprinted text and a shingle set."""
    if not other or not fingerprint.size:
        return 0.0, 0.0
    shared = min(fingerprint.shared(other), fingerprint.size, len(other))  # an estimate: never more than either
    union = fingerprint.size + len(other) - shared
    return shared / union if union else 0.0, shared / min(fingerprint.size, len(other))


@dataclass(frozen=True)
class Takedown:
    """One tombstone, as the matcher needs it: what it withholds and since when."""

    tombstone_id: int
    removed_at: str
    testimony_id: str | None = None
    fingerprint: Fingerprint | None = None
    person_id: str | None = None
    person_display: str | None = None  # for `restore --person`; never in a reason (reasons are stored)
    person_key: tuple[str, ...] | None = None  # a real name's folded form; None for a pseudonym

    def describe(self) -> str:
        when = (self.removed_at or "")[:10]
        if self.person_id:
            which = f"takedown {self.tombstone_id}" if self.tombstone_id else "this takedown"
            return f"names a person taken down on {when} ({which})"
        return f"matches takedown {self.testimony_id} of {when}"


@dataclass
class Matcher:
    """Tells, for a testimony about to be written or published, which takedown (if any) it matches."""

    takedowns: list[Takedown] = field(default_factory=list)
    # testimony id -> the last tombstone id an archivist let it through despite (`testimony restore ID`).
    cleared: dict[str, int] = field(default_factory=dict)

    def __post_init__(self):
        self.by_id = {t.testimony_id: t for t in self.takedowns if t.testimony_id}
        self.by_person = {t.person_id: t for t in self.takedowns if t.person_id}
        self.by_person_key: dict[tuple[str, ...], Takedown] = {}
        for takedown in self.takedowns:
            if takedown.person_key:  # a real name: its stored key, and every form of the name it was given
                shown = person_keys(takedown.person_display) if takedown.person_display else set()
                for key in {takedown.person_key} | shown:
                    self.by_person_key.setdefault(key, takedown)
        self.fingerprinted = [t for t in self.takedowns if t.fingerprint]
        # Which fingerprints hold a given sampled hash: a text is compared only with those it shares one with.
        self.by_hash: dict[int, list[Takedown]] = {}
        for takedown in self.fingerprinted:
            for value in takedown.fingerprint.sketch:
                self.by_hash.setdefault(value, []).append(takedown)

    def __bool__(self) -> bool:
        return bool(self.takedowns)

    def _cleared(self, testimony_id: str, takedown: Takedown) -> bool:
        return testimony_id in self.cleared and self.cleared[testimony_id] >= takedown.tombstone_id

    def match(
        self, testimony_id: str, source_id: str, people: list[tuple[str, str, int]], text: str | None
    ) -> tuple[Takedown, str] | None:
        """(takedown, reason) for the first takedown this testimony matches, else None. `people`: (id, name,
        is_pseudonym) of the speaker, then of each named subject. `text` None: check only the id and the
        people (the text was checked before)."""
        if testimony_id in self.by_id:
            takedown = self.by_id[testimony_id]
            return takedown, takedown.describe()
        for person_id, name, _ in people:
            takedown = self.by_person.get(person_id)
            # A taken-down real name is withheld in any spelling search takes for it, also starred.
            if takedown is None and self.by_person_key:
                takedown = next((self.by_person_key[k] for k in person_keys(name) if k in self.by_person_key), None)
            if takedown and not self._cleared(testimony_id, takedown):
                return takedown, takedown.describe()
        if not self.fingerprinted or text is None:
            return None
        hashes = shingles(text)
        candidates = {id(t): t for value in hashes if value in self.by_hash for t in self.by_hash[value]}
        speaker = speaker_key(people[0][1]) if people else ""
        for takedown in candidates.values():
            if self._cleared(testimony_id, takedown):
                continue
            printed = takedown.fingerprint
            jaccard, overlap = similarity(printed, hashes)
            related = printed.source_id == source_id or (printed.speaker and printed.speaker == speaker)
            long_excerpt = min(printed.size, len(hashes)) >= LONG_EXCERPT and overlap >= EXCERPT_OVERLAP
            if jaccard >= NEAR_IDENTICAL or (related and overlap >= OVERLAP) or long_excerpt:
                shown = max(jaccard, overlap if related or long_excerpt else 0)
                return takedown, f"{takedown.describe()} (text {shown:.0%} similar)"
        return None
