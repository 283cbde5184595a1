"""The lines of a release that are not its content (navigation, share buttons, image credits, copyright and
"published by" lines, footnotes, topic lists, date lines, mastheads), and what they say about the release:
its title, publisher, publication date, note and tags, which make the draft's `source`.

Where the release does not settle a field, the field is `draft.placeholder(question)` with one warning;
nothing is guessed. In particular the publication date comes from the page's metadata (read in `readers`
by htmldate), a date line near the top ("Published: 12 March 2024", "12 березня 2024", read by `dates`,
foreign months by dateparser) or a dateline ("LONDON, 12 March 2024 –"), never from the body: the first date
in the text and the first year, which the draft used to fall back to, were an incident's, a disappearance's,
a photo caption's or a quotation's as often as not.
"""

from __future__ import annotations

import re
from dataclasses import replace
from urllib.parse import urlsplit

from .dates import YEAR, date_line, dateline_date, full_dates
from .draft import placeholder
from .names import ORGANISATION_WORDS, covers, is_capitalised, runs
from .quotations import Paragraph
from .readers import Block, clean_inline, join_lines

NAVIGATION_LINE = re.compile(
    r"^(?:share(?: this)?(?: (?:page|article|story|post))?|share on \w+|tweet|print(?: this page)?|email"
    r"|read more|back to top|skip to (?:main )?content|menu|search|donate(?: now)?|subscribe\b.*"
    r"|sign up\b.*|follow us\b.*|download(?: (?:the )?(?:pdf|report|full report))?|[-–—]*\s*ends\s*[-–—]*"
    r"|#{3,}|top|(?:(?:press|news|media) release\s*(?:[-–—:|]\s*)?)?(?:for immediate release)?)$",
    re.I,
)
RELATED_LINE = re.compile(
    r"^(?:related (?:content|articles?|news|stories|reading|resources)|(?:read|see) also|more on this(?: topic)?)$",
    re.I,
)
COPYRIGHT_LINE = re.compile(r"^(?:copyright\s*)?(?:©|\(c\)\s*(?:19|20)\d{2})|^copyright\b", re.I)
COPYRIGHT_PREFIX = re.compile(r"^(?:copyright\s*)?(?:©|\(c\))?\s*(?:(?:19|20)\d{2}\s*[-–]?\s*)*", re.I)
IMAGE_CREDIT_LINE = re.compile(
    r"^\(?(?:(?:image|photo|photograph|picture|cover image|header image|illustration)(?: credit)?s?\s*(?::|©|[–—-]\s)"
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
TITLE_LABELS = {
    "news", "latest news", "breaking news", "statement", "statements", "public statement", "briefing", "report",
    "update", "urgent action", "press release", "press releases", "news release", "media release", "home",
    "responsive image", "image", "photo", "featured image", "main image", "hero image", "opinion", "article",
}  # fmt: skip
# Headings of the navigation that follows a release's topic labels ("Related Content", "COUNTRY", "TOPIC").
NAVIGATION_LABELS = {
    "country", "countries", "region", "regions", "topic", "topics", "issue", "issues", "tags", "keywords",
    "categories", "category", "related", "more", "see also", "location", "type",
}  # fmt: skip
NOTE_TO_EDITORS = re.compile(
    r"^(?:notes?\s+(?:to|for)\s+(?:the\s+)?editors?|editors?['’]?\s+notes?|ends?\s*/?\s*notes?)\s*:?\s*", re.I
)
# "Contact: World Uyghur Congress www.… +49 …", "Media contact: …", "For more information, contact the press
# office of Rights Watch Collective".
CONTACT_LINE = re.compile(r"^(?:(?:press|media)\s+)?contacts?\s*:\s*(?P<who>.+)$", re.I)
PRESS_OFFICE = re.compile(r"\b(?:press|media)\s+(?:office|team|desk)\s+(?:of|at)\s+(?:the\s+)?(?P<who>[^.,;]+)", re.I)
CONTACT_SENTENCE = re.compile(r"^(?:for (?:more|further) information|(?:please )?contact|media enquiries)\b", re.I)
CONTACT_DETAIL = re.compile(r"\S+@\S+|\b(?:www\.|https?://)\S+|\+?\(?\d[\d ()./-]{6,}\d|\bor\b\s*$", re.I)
# "Amnesty International today published…", "…, Rights Watch Collective said today", "said Rights Watch
# Collective on Tuesday": who issues the release, in its opening paragraphs.
TODAY_VERB = re.compile(r"\s+today\s+(?:published|released|issued|launched|said|called|urged|warned)\b")
SAID_BY = re.compile(r"\bsaid\s+(?:the\s+)?(?P<who>[A-Z][^,.;:“”\"]{2,80}?)\s+(?:on|in a statement|today)\b")
OPENING_PARAGRAPHS = 4
# A bare date line ("12 March 2024") is the release's date only before the first line of text this long;
# later it dates a caption, an event or a related story.
BODY_LINE = 100
PUBLISHED_BY_LINE = re.compile(r"^(?:published|posted|issued|released)\s+by\s*:?\s*(?P<who>.+)$", re.I)
FOOTNOTE_LINE = re.compile(r"^\*(?:\S|\s+.{0,200}\b(?:names?|pseudonyms?|changed|real)\b)")
NAMES_CHANGED_LINE = re.compile(
    r"^(?:notes?:\s*)?(?:all )?(?:names?|pseudonyms?)\b.{0,200}\b(?:changed|pseudonyms?|withheld|asterisk)\b", re.I
)
TOPICS_LINE = re.compile(r"^(?:topics?|tags?|categories|filed under)\s*:\s*(?P<items>.+)$", re.I)
SAID_TODAY = re.compile(r"\b(?:said|says|stated|warned|urged|called)\s+today\b")
# Ranks of what names the publisher, best first.
BY_OPTION, BY_LINE, BY_TEXT, BY_MASTHEAD, BY_COPYRIGHT = range(5)
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
        self.notes: list[str] = []
        self.tags: list[str] = list(meta.get("tags", []))
        self.text_before = 0  # characters of content kept so far
        self.body_started = False  # whether a paragraph of text came yet: date lines after it are captions
        self.in_trailer = False

    def strip(self, blocks: list[Block]) -> list[Block]:
        """The blocks without their furniture lines, and without the related-content list after the body."""
        kept: list[Block] = []
        for line in self.meta.get("footer_lines", []):
            self._metadata_line(clean_inline(line), 0)
        for block in blocks:
            lines, numbers = [], []
            for line, number in zip(block.lines, block.numbers, strict=True):
                if RELATED_LINE.match(line):
                    # Related-content lists follow the body of a release; before it they are a sidebar.
                    self.in_trailer = self.in_trailer or self.text_before > 200
                    continue
                if self._metadata_line(line, number):
                    continue
                if self.in_trailer and not is_label(line):
                    continue
                lines.append(line)
                numbers.append(number)
            if lines:
                kept.append(replace(block, lines=lines, numbers=numbers))
                if not block.heading:
                    self.text_before += sum(len(line) for line in lines)
                    self.body_started = self.body_started or any(len(line) > BODY_LINE for line in lines)
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
            holder = COPYRIGHT_PREFIX.sub("", line)
            holder = re.split(r"\.\s|\bAll rights reserved\b|\|", holder, flags=re.I)[0]
            # "© Amnesty International 2024": the year may follow the holder.
            holder = re.sub(r"\s*(?:(?:19|20)\d{2}\s*[-–]?\s*)+$", "", holder).strip(" .,")
            if years and holder and runs(holder):
                self.publishers.append((BY_COPYRIGHT, holder))
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
                self.publishers.append((BY_LINE, who))
            return True
        contact = CONTACT_LINE.match(line)
        office = PRESS_OFFICE.search(line) if CONTACT_SENTENCE.match(line) else None
        if contact or office:
            organisation = office_organisation(office.group("who")) if office else None
            organisation = organisation or (contact_organisation(contact.group("who")) if contact else None)
            if organisation:
                self.publishers.append((BY_LINE, organisation))
            return True
        if is_contact_details(line):
            return True  # the phone numbers and e-mail under a contact line
        note_label = NOTE_TO_EDITORS.match(line)
        if note_label:
            # "**Note to Editors:** \*Names have been changed.": the note is the reader's, never body text.
            note = line[note_label.end() :].strip()
            if note:
                self.notes.append(note)
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
            if label in {"published", "posted", "issued", "released"}:
                rank = 1
            elif "updated" in label:
                rank = 3
            else:
                rank = 2
            # A bare date far into the text, or in the related stories, dates a caption or another release.
            near_the_top = label or not (self.body_started or self.in_trailer)
            if near_the_top:
                self.date_lines.append((rank, found, number))
            return True
        return False

    def take_title(self, blocks: list[Block]) -> str | None:
        """Remove the title from the blocks and return it: the first h1, the page's title, else the first line.

        Never a section label ("News", "Press release"), image alt text ("Responsive Image"), the site's name
        or tagline, or a sentence of the body: then there is no title."""
        known = self._known_publishers()
        for block in [block for block in blocks if block.heading]:
            if is_not_a_title(block.text, known):
                blocks.remove(block)  # a section label set as a heading is furniture
        headings = [block for block in blocks if block.heading]
        chosen = next((block for block in headings if block.heading == 1), None)
        if chosen is None and self.meta.get("title") and not is_not_a_title(self.meta["title"], known):
            title = self.meta["title"]
            if blocks and blocks[0].text == title:
                blocks.pop(0)
            return title
        chosen = chosen or (headings[0] if headings else None)
        if chosen is not None:
            blocks.remove(chosen)
            return chosen.text
        # Plain text: the first line that is not the publisher's name, a label such as "NEWS" or alt text.
        while blocks:
            first = blocks[0]
            line = first.lines[0]
            found = runs(line)
            is_masthead = len(found) == 1 and found[0].is_organisation and covers(line, found[0])
            if not (line.casefold() in known or is_label_line(line) or is_masthead):
                break
            if is_masthead:
                self.publishers.append((BY_MASTHEAD, line))
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
        if is_body_sentence(title):
            return None
        first.lines, first.numbers = first.lines[taken:], first.numbers[taken:]
        if not first.lines:
            blocks.pop(0)
        return title

    def _known_publishers(self) -> set[str]:
        names = [name for _, name in self.publishers] + [self.publisher_option or "", self.meta.get("publisher", "")]
        return {name.casefold() for name in names if name}

    def take_tags(self, blocks: list[Block]) -> None:
        """Remove the topic labels that end the release, and keep them as tags after those found already.

        The navigation headings among them ("COUNTRY", "TOPIC") are furniture, not tags."""
        labels: list[str] = []
        while blocks and not blocks[-1].heading and all(is_label(line) for line in blocks[-1].lines):
            labels = blocks.pop().lines + labels
        seen: set[str] = set()
        tags = []
        for tag in self.tags + labels:
            if tag and tag.casefold() not in seen and tag.casefold() not in NAVIGATION_LABELS:
                seen.add(tag.casefold())
                tags.append(tag)
        self.tags = tags

    def source(self, title: str | None, paragraphs: list[Paragraph]) -> dict:
        """The draft's `source`, with a warning for every field it could not fill."""
        source: dict = {}
        if not title:
            title = placeholder("what is the release's title?")
            self.warnings.append("no title found: set source.title")
        source["title"] = title
        source["publisher"] = self._publisher(paragraphs)
        source["published"] = self._published(paragraphs)
        url = self._url()
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

    def _url(self) -> str | None:
        return self.url_option or self.meta.get("url")

    def _publisher(self, paragraphs: list[Paragraph]) -> str:
        if self.publisher_option:
            return self.publisher_option
        if self.meta.get("publisher"):
            return self.meta["publisher"]
        body = [paragraph for paragraph in paragraphs if not paragraph.heading][:OPENING_PARAGRAPHS]
        for paragraph in body:
            organisation = issuer(paragraph.text)
            if organisation:
                self.publishers.append((BY_TEXT, organisation))
                break
        site = site_organisation(self._url(), [paragraph.text for paragraph in paragraphs])
        if site:
            self.publishers.append((BY_TEXT, site))
        if self.publishers:
            rank, name = min(self.publishers, key=lambda item: item[0])
            if rank >= BY_MASTHEAD:
                where = "first line" if rank == BY_MASTHEAD else "copyright line"
                self.warnings.append(f"publisher taken from the {where} ({name}): check it")
            return name
        self.warnings.append("no publisher found: set source.publisher or pass --publisher")
        return placeholder("who published this release?")

    def _published(self, paragraphs: list[Paragraph]) -> str:
        if self.meta.get("published"):
            return self.meta["published"]
        if self.date_lines:
            return min(self.date_lines, key=lambda item: (item[0], item[2]))[1]
        body = [paragraph for paragraph in paragraphs if not paragraph.heading]
        for paragraph in body[:3]:
            found = dateline_date(paragraph.text)
            if found:
                return found
        # A date in the body (an arrest, a caption, a year in a quotation) is never the publication date.
        self.warnings.append("no publication date found: set source.published before ingesting")
        return placeholder("when was it published (no dateline or page date found)?")


def is_label_line(line: str) -> bool:
    """A line that labels a page rather than titling a release: "NEWS", "Press release", "Responsive Image"."""
    parts = [part.strip() for part in re.split(r"\s+[-–—|]\s+|:\s*", line.casefold()) if part.strip()]
    return bool(parts) and all(part in TITLE_LABELS or part == "for immediate release" for part in parts)


def is_body_sentence(text: str) -> bool:
    """A sentence of the release's text rather than a title: long, or a full sentence saying who said what."""
    words = text.split()
    said = re.search(r"\b(?:said|says|told|stated)\b", text)
    return len(text) > 200 or (text.endswith(".") and (len(words) > 15 or bool(said)))


def is_not_a_title(text: str, publishers: set[str]) -> bool:
    return is_label_line(text) or text.casefold() in publishers or is_body_sentence(text)


def issuer(text: str) -> str | None:
    """The organisation a release's opening names as issuing it: "Rights Watch Collective today published…",
    "…, Rights Watch Collective said today", "said Rights Watch Collective on Tuesday"."""
    for match in list(TODAY_VERB.finditer(text)) + list(SAID_TODAY.finditer(text)):
        organisation = organisation_before(text[: match.start()])
        if organisation:
            return organisation
    for match in SAID_BY.finditer(text):
        found = [run for run in runs(match.group("who")) if run.is_organisation and covers(match.group("who"), run)]
        if found:
            return found[0].text
    return None


def contact_organisation(who: str) -> str | None:
    """The organisation in a contact line, without its phone numbers, e-mail and web addresses."""
    who = CONTACT_DETAIL.sub(" ", who)
    for part in re.split(r"[,;(]", who):
        part = part.strip(" .)")
        found = runs(part)
        if len(found) == 1 and found[0].is_organisation and covers(part, found[0]):
            return found[0].text
    return None


def is_contact_details(line: str) -> bool:
    """A line of phone numbers, e-mail and web addresses only: "+44 20 7946 0000 or press@example.org"."""
    rest = CONTACT_DETAIL.sub(" ", line)
    rest = re.sub(r"\b(?:or|and|tel|phone|mobile|e-?mail|web)\b\.?:?", " ", rest, flags=re.I)
    is_date = bool(date_line(line) or full_dates(line))  # "28.08.2025" has the digits of a phone number
    return rest.strip(" ,;:/|") == "" and bool(CONTACT_DETAIL.search(line)) and not is_date


def office_organisation(who: str) -> str | None:
    """The organisation whose press office a line names: "the press office of Open Doors Monitor"."""
    found = runs(who)
    return found[0].text if len(found) == 1 and covers(who.strip(" ."), found[0]) else None


def site_organisation(url: str | None, texts: list[str]) -> str | None:
    """The organisation the page names whose web address `url` is: hrw.org is "Human Rights Watch" when the
    page says "Human Rights Watch", amnesty.org "Amnesty International"; None when the page names none."""
    host = (urlsplit(url).hostname or "") if url and HTTP_URL.match(url) else ""
    labels = [label for label in host.lower().split(".") if label not in {"www", "en", "m", "news", "org", "com"}]
    if not labels:
        return None
    site = re.sub(r"[^a-z0-9]", "", labels[0])
    for text in texts:
        for match in PRESS_OFFICE.finditer(text):
            text = text + " " + match.group("who")
        for run in runs(text):
            words = [re.sub(r"[^a-z0-9]", "", word.lower()) for word in run.words]
            if not run.is_organisation or not words:
                continue
            initials = "".join(word[:1] for word in words)
            joined = "".join(words)
            if site in {initials, joined, words[0]} or (len(site) > 6 and site in joined):
                return run.text
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
