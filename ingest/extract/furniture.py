"""The lines of a release that are not its content (navigation, share buttons, image credits, copyright and
"published by" lines, footnotes, topic lists, date lines, mastheads), and what they say about the release:
its title, publisher, publication date, note and tags, which make the draft's `source`."""

from __future__ import annotations

import re
from dataclasses import replace

from .dates import YEAR, date_line, dateline_date, full_dates
from .draft import PLACEHOLDER
from .names import ORGANISATION_WORDS, covers, is_capitalised, runs
from .quotations import Paragraph
from .readers import Block, clean_inline, join_lines

NAVIGATION_LINE = re.compile(
    r"^(?:share(?: this)?(?: (?:page|article|story|post))?|share on \w+|tweet|print(?: this page)?|email"
    r"|read more|back to top|skip to (?:main )?content|menu|search|donate(?: now)?|subscribe\b.*"
    r"|sign up\b.*|follow us\b.*|download(?: (?:the )?(?:pdf|report|full report))?|[-–—]*\s*ends\s*[-–—]*"
    r"|#{3,}|top|press release|news release|media release|for immediate release)$",
    re.I,
)
RELATED_LINE = re.compile(
    r"^(?:related (?:content|articles?|news|stories|reading|resources)|(?:read|see) also|more on this(?: topic)?)$",
    re.I,
)
COPYRIGHT_LINE = re.compile(r"^(?:copyright\s*)?(?:©|\(c\)\s*(?:19|20)\d{2})|^copyright\b", re.I)
COPYRIGHT_PREFIX = re.compile(r"^(?:copyright\s*)?(?:©|\(c\))?\s*(?:(?:19|20)\d{2}\s*[-–]?\s*)*", re.I)
IMAGE_CREDIT_LINE = re.compile(
    r"^(?:(?:image|photo|photograph|picture|cover image|header image|illustration)(?: credit)?s?\s*(?::|©|[–—-]\s)"
    r"|(?:photo|image) credit\b|credit\s*:)",
    re.I,
)
LANGUAGE_NAMES = (
    "english|español|spanish|français|french|中文|简体中文|繁體中文|русский|russian|العربية|arabic|deutsch|german"
    "|português|portuguese|türkçe|turkish|uyghurche|ئۇيغۇرچە|日本語|한국어|italiano|bahasa indonesia|tiếng việt"
)
LANGUAGE_LINE = re.compile(
    rf"^(?:(?:also )?available in\b.*|(?:{LANGUAGE_NAMES})(?:\s*[|,/·•]\s*(?:{LANGUAGE_NAMES}))+)$", re.I
)
TITLE_LABELS = {"news", "statement", "public statement", "briefing", "report", "update", "urgent action"}
PUBLISHED_BY_LINE = re.compile(r"^(?:published|posted|issued|released)\s+by\s*:?\s*(?P<who>.+)$", re.I)
FOOTNOTE_LINE = re.compile(r"^\*(?:\S|\s+.{0,200}\b(?:names?|pseudonyms?|changed|real)\b)")
NAMES_CHANGED_LINE = re.compile(
    r"^(?:notes?:\s*)?(?:all )?(?:names?|pseudonyms?)\b.{0,200}\b(?:changed|pseudonyms?|withheld|asterisk)\b", re.I
)
TOPICS_LINE = re.compile(r"^(?:topics?|tags?|categories|filed under)\s*:\s*(?P<items>.+)$", re.I)
SAID_TODAY = re.compile(r"\b(?:said|says|stated|warned|urged|called)\s+today\b")
HTTP_URL = re.compile(r"^https?://\S+$")


class Furniture:
    """What the furniture of one release says about it, gathered as the furniture is taken away."""

    def __init__(self, meta: dict, publisher: str | None, url: str | None, warnings: list[str]) -> None:
        self.meta = meta
        self.publisher_option = publisher
        self.url_option = url
        self.warnings = warnings
        self.date_lines: list[tuple[int, str, int]] = []  # (rank, date, line)
        self.publishers: list[tuple[int, str]] = []  # (rank, name)
        self.copyright_years: list[str] = []
        self.notes: list[str] = []
        self.tags: list[str] = list(meta.get("tags", []))

    def strip(self, blocks: list[Block]) -> list[Block]:
        """The blocks without their furniture lines, and without the related-content list after the body."""
        kept: list[Block] = []
        in_trailer = False
        for line in self.meta.get("footer_lines", []):
            self._metadata_line(clean_inline(line), 0)
        for block in blocks:
            lines, numbers = [], []
            for line, number in zip(block.lines, block.numbers, strict=True):
                if RELATED_LINE.match(line):
                    # Related-content lists follow the body of a release; before it they are a sidebar.
                    in_trailer = in_trailer or any(len(kept_block.text) > 200 for kept_block in kept)
                    continue
                if self._metadata_line(line, number):
                    continue
                if in_trailer and not is_label(line):
                    continue
                lines.append(line)
                numbers.append(number)
            if lines:
                kept.append(replace(block, lines=lines, numbers=numbers))
            elif kept and block.after_page_break:
                kept[-1].after_page_break = True
        return kept

    def _metadata_line(self, line: str, number: int) -> bool:
        """Record what a line of furniture says about the release; True when the line is not content."""
        if not line:
            return True
        if NAVIGATION_LINE.match(line) or IMAGE_CREDIT_LINE.match(line) or LANGUAGE_LINE.match(line):
            return True
        if COPYRIGHT_LINE.match(line):
            years = YEAR.findall(line)
            self.copyright_years += years
            holder = COPYRIGHT_PREFIX.sub("", line)
            holder = re.split(r"\.\s|\bAll rights reserved\b|\|", holder, flags=re.I)[0].strip(" .,")
            if years and holder and runs(holder):
                self.publishers.append((4, holder))
            return True
        published_by = PUBLISHED_BY_LINE.match(line)
        if published_by:
            who = published_by.group("who")
            dates = full_dates(who)
            if dates:
                self.date_lines.append((1, dates[0][1], number))
                who = who[: dates[0][0]]
            who = re.sub(r"\s*(?:\bon\b|[,|–—-])\s*$", "", who.strip()).strip(" .")
            if who:
                self.publishers.append((1, who))
            return True
        if FOOTNOTE_LINE.match(line) or (NAMES_CHANGED_LINE.match(line) and len(line) < 250):
            self.notes.append(line)
            return True
        topics = TOPICS_LINE.match(line)
        if topics:
            self.tags += [item.strip() for item in re.split(r"[,;|]", topics.group("items")) if item.strip()]
            return True
        dated = date_line(line)
        if dated:
            label, found = dated
            rank = 1 if label in {"published", "posted", "issued", "released"} else 3 if "updated" in label else 2
            self.date_lines.append((rank, found, number))
            return True
        return False

    def take_title(self, blocks: list[Block]) -> str | None:
        """Remove the title from the blocks and return it: the first h1, the page's title, else the first line."""
        headings = [block for block in blocks if block.heading]
        chosen = next((block for block in headings if block.heading == 1), None)
        if chosen is None and self.meta.get("title"):
            title = self.meta["title"]
            if blocks and blocks[0].text == title:
                blocks.pop(0)
            return title
        chosen = chosen or (headings[0] if headings else None)
        if chosen is not None:
            blocks.remove(chosen)
            return chosen.text
        # Plain text: the first line that is not the publisher's name or a label such as "NEWS".
        known = {name.casefold() for _, name in self.publishers} | {(self.publisher_option or "").casefold()}
        while blocks:
            first = blocks[0]
            line = first.lines[0]
            found = runs(line)
            is_masthead = len(found) == 1 and found[0].is_organisation and covers(line, found[0])
            if not (line.casefold() in known or line.casefold() in TITLE_LABELS or is_masthead):
                break
            if is_masthead:
                self.publishers.append((3, line))
            first.lines, first.numbers = first.lines[1:], first.numbers[1:]
            if not first.lines:
                blocks.pop(0)
        if not blocks:
            return None
        first = blocks[0]
        # A title wrapped over two lines continues in lower case.
        taken = 1
        while taken < len(first.lines) and first.lines[taken][:1].islower():
            taken += 1
        title = join_lines(first.lines[:taken])
        first.lines, first.numbers = first.lines[taken:], first.numbers[taken:]
        if not first.lines:
            blocks.pop(0)
        return title

    def take_tags(self, blocks: list[Block]) -> None:
        """Remove the topic labels that end the release, and keep them as tags after those found already."""
        labels: list[str] = []
        while blocks and not blocks[-1].heading and all(is_label(line) for line in blocks[-1].lines):
            labels = blocks.pop().lines + labels
        seen: set[str] = set()
        tags = []
        for tag in self.tags + labels:
            if tag and tag.casefold() not in seen:
                seen.add(tag.casefold())
                tags.append(tag)
        self.tags = tags

    def source(self, title: str | None, paragraphs: list[Paragraph]) -> dict:
        """The draft's `source`, with a warning for every field it could not fill."""
        source: dict = {}
        if not title:
            title = PLACEHOLDER
            self.warnings.append("no title found: set source.title")
        source["title"] = title
        source["publisher"] = self._publisher(paragraphs)
        published = self._published(paragraphs)
        if published:
            source["published"] = published
        url = self.url_option or self.meta.get("url")
        if url:
            if HTTP_URL.match(url):
                source["url"] = url
            else:
                self.warnings.append(f"url {url!r} is not an http(s) address: left out")
        if self.meta.get("language"):
            source["language"] = self.meta["language"]
        if self.notes:
            source["note"] = " ".join(self.notes)
        if self.tags:
            source["tags"] = self.tags
        return source

    def _publisher(self, paragraphs: list[Paragraph]) -> str:
        if self.publisher_option:
            return self.publisher_option
        if self.meta.get("publisher"):
            return self.meta["publisher"]
        for paragraph in paragraphs:
            match = SAID_TODAY.search(paragraph.text)
            if match:
                organisation = organisation_before(paragraph.text[: match.start()])
                if organisation:
                    self.publishers.append((2, organisation))
                    break
        if self.publishers:
            rank, name = min(self.publishers, key=lambda item: item[0])
            if rank >= 3:
                where = "first line" if rank == 3 else "copyright line"
                self.warnings.append(f"publisher taken from the {where} ({name}): check it")
            return name
        self.warnings.append(f"no publisher found: source.publisher is {PLACEHOLDER!r}, set it or pass --publisher")
        return PLACEHOLDER

    def _published(self, paragraphs: list[Paragraph]) -> str | None:
        if self.meta.get("published"):
            return self.meta["published"]
        if self.date_lines:
            return min(self.date_lines, key=lambda item: (item[0], item[2]))[1]
        body = [paragraph for paragraph in paragraphs if not paragraph.heading]
        for paragraph in body[:3]:
            found = dateline_date(paragraph.text)
            if found:
                return found
        for paragraph in body:
            dates = full_dates(paragraph.text)
            if dates:
                self.warnings.append(
                    f"line {paragraph.line}: no publication date line; used the first date in the text, "
                    f"{dates[0][1]}: check it"
                )
                return dates[0][1]
        years = self.copyright_years or [year for paragraph in body for year in YEAR.findall(paragraph.text)]
        if years:
            year = self.copyright_years[-1] if self.copyright_years else max(years)
            self.warnings.append(f"no publication date found: used the year {year}, set the full date if known")
            return year
        self.warnings.append("no publication date found: set source.published before ingesting")
        return None


def organisation_before(text: str) -> str | None:
    """The organisation named just before "said today": "…, Rights Watch Collective said today"."""
    words = text.rstrip().split(" ")
    taken: list[str] = []
    for word in reversed(words):
        if word and (is_capitalised(word) or word in {"for", "of", "in", "and", "on", "the"}):
            taken.insert(0, word)
        else:
            break
    while taken and not is_capitalised(taken[0]):
        taken.pop(0)
    name = " ".join(taken).strip(" ,")
    return name if runs(name) and any(word.lower() in ORGANISATION_WORDS for word in name.split()) else None


def is_label(line: str) -> bool:
    """An upper-case topic label such as "TORTURE AND OTHER ILL-TREATMENT"."""
    letters = [char for char in line if char.isalpha()]
    return (
        len(letters) >= 3
        and not any(char.islower() for char in line)
        and any(char.isupper() for char in line)
        and len(line) <= 60
        and len(line.split()) <= 8
        and not line.endswith((".", ":", ";", ",", "!", "?"))
        and not full_dates(line)
    )
