"""A journalist's flow in a real headless Chromium (Debian's package, driven by playwright) against a
real `testimony serve` process: search, click a facet, open a row, copy the citation, screenshot.

Needs /usr/bin/chromium (`.ci/run` installs it). Set TESTIMONY_SKIP_BROWSER=1 to skip on a machine
without it; nothing skips by default.
"""

import pytest

from .conftest import ROOT

SCREENSHOTS = ROOT / "tests" / "screenshots"

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(chromium, sample_server):
    # chromium first: without it (or with TESTIMONY_SKIP_BROWSER=1) nothing is built.
    return sample_server


@pytest.fixture(scope="module")
def page(browser):
    return browser.new_context(viewport={"width": 1280, "height": 900}).new_page()


def test_search_facet_row_flow(server, page):
    SCREENSHOTS.mkdir(exist_ok=True)
    page.goto(server + "/")
    page.click("text=Search the testimonies")
    page.fill("input[name=q]", "prison OR camp")
    page.click("input[type=submit]")
    page.wait_for_selector("li.hit")
    summary = page.inner_text("p.summary")
    total = int(summary.split()[0])
    assert total > 3
    assert page.locator("li.hit mark").count() > 0

    family = page.locator("a.facet-value", has_text="family").first
    expected = int(family.evaluate("a => a.nextSibling.textContent").strip())
    family.click()
    page.wait_for_url("**role=family**")
    assert int(page.inner_text("p.summary").split()[0]) == expected < total
    page.screenshot(path=str(SCREENSHOTS / "search-facet.png"), full_page=True)

    first = page.locator("li.hit .speaker a").first
    speaker = first.inner_text()
    first.click()
    page.wait_for_selector("#citation-plain")
    citation = page.input_value("#citation-plain")
    assert citation.startswith(speaker.rstrip("*"))
    assert "testimony " in citation
    page.screenshot(path=str(SCREENSHOTS / "row-citation.png"), full_page=True)
    assert (SCREENSHOTS / "row-citation.png").stat().st_size > 10_000


def test_table_search_box_and_pseudonym_marker(server, page):
    page.goto(server + "/public/testimonies")
    page.fill("#table-search", "Patime")
    page.press("#table-search", "Enter")
    page.wait_for_url("**_search=Patime**")
    page.screenshot(path=str(SCREENSHOTS / "table-search.png"), full_page=True)
    assert "1 row" in page.locator("h3").first.inner_text()
    marker = page.locator("td.col-speaker abbr.pseudonym").first
    assert marker.inner_text() == "*"
    assert "changed to protect" in marker.get_attribute("title")


def test_query_error_is_shown_not_a_crash(server, page):
    response = page.goto(server + "/-/search?q=*tain")
    assert response.status == 400
    assert "Leading wildcards" in page.inner_text("p.error")
