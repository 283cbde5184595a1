"""A journalist's visit in a real headless Chromium (Debian's package, driven by playwright) against a real
`testimony serve` process on the sample data: search from the home page, open a testimony, follow to
the person and the source, copy a citation with the keyboard, download BibTeX; then the same pages at
phone width.

Each step is screenshotted into TESTIMONY_SCREENSHOTS (default tests/screenshots/, not committed);
`make screenshots` points it at docs/screenshots/, so the README's pictures are the ones this test saw.
"""

import os
import re
from pathlib import Path

import pytest

from .conftest import ROOT

pytestmark = pytest.mark.browser

SHOTS = Path(os.environ.get("TESTIMONY_SCREENSHOTS") or ROOT / "tests" / "screenshots")
PHONE = {"width": 390, "height": 844}


SHOT_HEIGHT = 1800  # pixels at most: the top of a long page shows what it is


def shoot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    size = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.scrollHeight]")
    clip = {"x": 0, "y": 0, "width": size[0], "height": min(size[1], SHOT_HEIGHT)}
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True, clip=clip)


@pytest.fixture(scope="module")
def context(browser, sample_server):
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, accept_downloads=True, base_url=sample_server
    )
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=sample_server)
    yield context
    context.close()


def test_search_read_follow_cite_download(context, tmp_path):
    page = context.new_page()
    page.goto("/")
    assert re.match(r"The archive holds \d+ testimonies", page.locator("text=The archive holds").inner_text())
    shoot(page, "home")

    # Search from the home page, open the first hit spoken by a pseudonymous family member.
    page.fill("#home-q", "brother prison")
    page.press("#home-q", "Enter")
    page.wait_for_selector("li.hit")
    shoot(page, "search")
    hit = page.locator("li.hit", has=page.locator("abbr.pseudonym")).first
    hit.locator("a").first.click()
    page.wait_for_selector("article.testimony")
    speaker = page.locator("h1#testimony-title").inner_text()
    assert speaker.startswith("Testimony of ") and speaker.endswith("*")
    name = speaker.removeprefix("Testimony of ")
    assert page.locator("p.note", has_text="is a pseudonym").count() == 1
    words = page.locator("blockquote.words").inner_text()
    assert len(words) > 100
    testimony_url = page.url
    shoot(page, "testimony")

    # Copy the plain citation with the keyboard: focus the button, press Enter, read the clipboard.
    plain = page.input_value("#citation-plain")
    assert plain.startswith(f"{name} (pseudonym), quoted in")
    page.focus("button[data-target=citation-plain]")
    page.keyboard.press("Enter")
    page.wait_for_selector("text=Copied.")
    assert page.evaluate("navigator.clipboard.readText()") == plain

    # Download the BibTeX file.
    with page.expect_download() as download:
        page.click("a[download]:text('BibTeX')")
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    bib = saved.read_text(encoding="utf-8")
    assert saved.suffix == ".bib" and bib.startswith("@misc{") and f"author = {{{{{name}}}}}" in bib
    assert page.url == testimony_url

    # Follow to the person: the testimony is listed among what they gave.
    page.click("dl.facts >> text=Speaker >> xpath=following-sibling::dd[1]/a")
    page.wait_for_selector("h2#given-title")
    assert page.locator("h1").inner_text() == name
    assert page.locator("p.note", has_text="is a pseudonym").count() == 1
    assert page.locator(f"a[href='{testimony_url.removeprefix(context_base(page))}']").count() >= 1
    shoot(page, "person-pseudonym")

    # A real name: what happened to him over time, and how else the archive spells his name.
    page.goto("/public/people?name=Mamatjan+Tursun")
    page.locator("td.col-id a").first.click()
    page.wait_for_selector("ol.timeline")
    assert page.locator("ol.timeline li").count() >= 1
    assert "Memetjan Tursun" in page.locator("text=Also written in the archive as").inner_text()
    shoot(page, "person")
    page.goto(testimony_url)

    # On to the source: the testimony is one of its testimonies, in order.
    page.click("dl.facts >> text=Source >> xpath=following-sibling::dd[1]/a >> nth=0")
    page.wait_for_selector("h2#source-testimonies")
    listed = page.locator("ul.entries li > a").evaluate_all("links => links.map(a => a.href)")
    assert testimony_url in listed
    shoot(page, "source")

    # The table: the search box first, the words with room, the column descriptions folded.
    page.goto("/public/testimonies")
    assert page.locator("details.columns-explained").get_attribute("open") is None
    assert page.locator("dl.column-descriptions").is_hidden()
    search_box = page.locator("#table-search").bounding_box()
    table = page.locator("table.rows-and-columns").bounding_box()
    assert search_box["y"] < table["y"]
    text_width = page.locator("td.col-text").first.bounding_box()["width"]
    assert text_width > 300  # not a tower of two words a line
    shoot(page, "table")
    page.close()


def context_base(page) -> str:
    return re.match(r"https?://[^/]+", page.url).group(0)


@pytest.mark.parametrize("path", ["/", "/public/testimonies", "/-/search?q=prison"])
def test_pages_fit_a_phone(browser, sample_server, path):
    context = browser.new_context(viewport=PHONE, base_url=sample_server)
    page = context.new_page()
    page.goto(path)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    context.close()
    assert overflow <= 1, f"{path} is {overflow}px wider than a phone"


def test_reading_pages_fit_a_phone(browser, sample_server):
    context = browser.new_context(viewport=PHONE, base_url=sample_server)
    page = context.new_page()
    page.goto("/public/testimonies?speaker_is_pseudonym=1")
    first = page.locator("td.col-id a").first.get_attribute("href")
    page.goto(first)
    assert page.locator("blockquote.words").is_visible()
    shoot(page, "testimony-phone")
    urls = [first, page.locator("dl.facts dd a").first.get_attribute("href")]
    urls.append(
        page.locator("dl.facts >> text=Source >> xpath=following-sibling::dd[1]/a >> nth=0").get_attribute("href")
    )
    for url in urls:
        page.goto(url)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"{url} is {overflow}px wider than a phone"
    context.close()
