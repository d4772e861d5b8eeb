"""axe-core (vendored under tests/e2e/vendor/axe-core, MPL-2.0) run inside a page: the WCAG 2.1
A and AA rules, colour contrast included. The page's own CSP forbids injected scripts, so the
context that runs axe is opened with ``bypass_csp``; the pages themselves are unchanged."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import Page

AXE = Path(__file__).parents[1] / "vendor" / "axe-core" / "axe.min.js"
RULE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def violations(page: Page) -> list[str]:
    """Each violation as "rule: target …", empty when the page passes."""
    page.add_script_tag(path=str(AXE))
    result: dict[str, Any] = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", RULE_TAGS
    )
    found = []
    for violation in result["violations"]:
        targets = [
            " ".join(map(str, node["target"])) + " " + str(node.get("failureSummary", ""))[:200]
            for node in violation["nodes"]
        ][:5]
        found.append(f"{violation['id']} ({violation['impact']}): {', '.join(targets)}")
    return found
