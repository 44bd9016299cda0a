"""axe-core in the browser tests (issue 26): npm's `axe-core` package, installed into the
test-only folder tests/axe (`npm ci --prefix tests/axe`; .ci/run does), injected into the page
through the WebDriver, which the page's Content-Security-Policy does not govern (the page itself
still runs no inline script). Tests skip, saying why, when it is not installed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.browser import Browser

AXE = Path(__file__).parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"
RULES = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]


def axe_source() -> str:
    if not AXE.exists():
        pytest.skip(f"{AXE} is missing: npm ci --prefix tests/axe (.ci/run does)")
    return AXE.read_text()


def axe_version() -> str:
    package = json.loads((AXE.parent / "package.json").read_text())
    return str(package["version"])


async def violations(browser: Browser) -> list[dict[str, Any]]:
    """axe's violations on the page open in the browser, each with the nodes it found."""
    source = axe_source()

    def work() -> list[dict[str, Any]]:
        driver = browser.driver
        if not driver.execute_script("return typeof window.axe !== 'undefined'"):
            driver.execute_script(source)
        driver.set_script_timeout(60)
        found = driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "axe.run(document, {runOnly: {type: 'tag', values: arguments[0]}})"
            ".then(r => done(r.violations.map(v => ({id: v.id, impact: v.impact,"
            " help: v.help, nodes: v.nodes.map(n => n.target.join(' ') + ': ' +"
            " n.failureSummary)}))))"
            ".catch(e => done([{id: 'axe-error', help: String(e), nodes: []}]));",
            RULES,
        )
        return list(found)

    return await browser._run(work)


def contrast(first: str, second: str) -> float:
    """WCAG contrast ratio of two CSS `rgb(...)`/`rgba(...)` colours."""

    def luminance(color: str) -> float:
        parts = [float(p) for p in color[color.index("(") + 1 : -1].split(",")[:3]]
        linear = [c / 255 for c in parts]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in linear]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    a, b = sorted((luminance(first), luminance(second)), reverse=True)
    return (a + 0.05) / (b + 0.05)
