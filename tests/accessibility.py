"""axe-core in a playwright page: the accessibility rules a page breaks, for assertions in the browser tests.

axe-core is an npm package pinned by tests/axe/package-lock.json; `make test` installs it."""

from .conftest import ROOT

AXE = ROOT / "tests/axe/node_modules/axe-core/axe.min.js"
INSTALL_AXE = "make tests/axe/node_modules/axe-core/axe.min.js (or: npm ci --prefix tests/axe)"
# How many failing elements of one rule an assertion message names; the rest are counted.
SHOWN_TARGETS = 3


def violations(page, impacts=("serious", "critical")) -> list[dict]:
    """The axe-core violations of the page as loaded, those of the given impacts only (axe's impacts are
    minor, moderate, serious and critical)."""
    assert AXE.exists(), f"axe-core is not installed at {AXE.relative_to(ROOT)}: run {INSTALL_AXE}"
    if not page.evaluate("() => Boolean(window.axe)"):
        page.add_script_tag(path=str(AXE))
    results = page.evaluate('() => axe.run(document, {resultTypes: ["violations"]})')
    return [violation for violation in results["violations"] if violation["impact"] in impacts]


def describe(violations: list[dict]) -> str:
    """One line per violation (its rule id, impact, help and first failing elements), for an assertion message."""
    lines = []
    for violation in violations:
        # A target is a chain of selectors only when the element is inside frames or shadow roots.
        targets = [" >>> ".join(map(str, node["target"])) for node in violation["nodes"]]
        shown = ", ".join(targets[:SHOWN_TARGETS])
        more = f" and {len(targets) - SHOWN_TARGETS} more" if len(targets) > SHOWN_TARGETS else ""
        lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']} at {shown}{more}")
    return "\n".join(lines)
