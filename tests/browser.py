"""A real headless Chromium for the Case Center page's tests: Debian's `chromium` driven by its
`chromedriver` through Selenium, never a downloaded browser. Selenium is blocking: every call
runs in a thread, so the test's worker (on the test's event loop) keeps working while the
browser waits for a page.

Tests skip, saying why, when chromium, chromedriver or selenium is missing; CI installs them
(.ci/run)."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
)
LAPTOP = (1366, 900)
PHONE = (390, 844)
SCREENSHOTS = (
    Path(__file__).parent.parent / "docs" / "screenshots"
    if os.environ.get("CASEWORK_WRITE_SCREENSHOTS") == "1"
    else Path(os.environ.get("CASEWORK_SCREENSHOTS") or Path(tempfile.gettempdir()))
    / "casework-screenshots"
)
"""Where `Browser.shot` saves: the checked-in docs/screenshots/ with CASEWORK_WRITE_SCREENSHOTS=1
(then look at them and commit them), else a folder under CASEWORK_SCREENSHOTS or the temporary
folder, so a test run leaves the work tree as it was."""
T = TypeVar("T")


def browser_missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not Path(path).exists():
            return f"{path} is not installed (apt-get install -y {package}; .ci/run does)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[test]')"
    return None


class Browser:
    """One Chromium window, used a step at a time from async tests."""

    def __init__(self, driver: Any, base: str) -> None:
        self.driver = driver
        self.base = base

    async def _run(self, work: Callable[[], T]) -> T:
        return await asyncio.to_thread(work)

    async def go(self, path: str) -> None:
        await self._run(lambda: self.driver.get(self.base + path))

    async def fill(self, element_id: str, text: str) -> None:
        def work() -> None:
            element = self.driver.find_element("id", element_id)
            element.clear()
            element.send_keys(text)

        await self._run(work)

    async def choose(self, element_id: str, value: str) -> None:
        from selenium.webdriver.support.ui import Select

        await self._run(
            lambda: Select(self.driver.find_element("id", element_id)).select_by_value(value)
        )

    async def check(self, css: str) -> None:
        await self._run(lambda: self.driver.find_element("css selector", css).click())

    async def open_details(self, element_id: str) -> None:
        """Open a <details> (an action's form) if it is closed."""
        await self._run(
            lambda: self.driver.execute_script(
                "document.getElementById(arguments[0]).open = true", element_id
            )
        )

    async def click(self, element_id: str) -> None:
        """Click a link or a form's button and wait for the next page to load."""
        from selenium.common.exceptions import WebDriverException
        from selenium.webdriver.support.ui import WebDriverWait

        def gone(old: Any) -> bool:
            """The old page's root is gone (chromium says so as a stale element, or as a node
            that no longer belongs to the document)."""
            try:
                old.is_enabled()
            except WebDriverException:
                return True
            return False

        def work() -> None:
            old = self.driver.find_element("tag name", "html")
            self.driver.find_element("id", element_id).click()
            WebDriverWait(self.driver, 60).until(lambda _: gone(old))
            WebDriverWait(self.driver, 60).until(
                lambda d: d.execute_script("return document.readyState") == "complete"
            )

        await self._run(work)

    async def text(self, css: str) -> str:
        return await self._run(lambda: str(self.driver.find_element("css selector", css).text))

    async def texts(self, css: str) -> list[str]:
        return await self._run(
            lambda: [str(e.text) for e in self.driver.find_elements("css selector", css)]
        )

    async def has(self, css: str) -> bool:
        return await self._run(lambda: bool(self.driver.find_elements("css selector", css)))

    async def ids(self, css: str) -> list[str]:
        return await self._run(
            lambda: [
                str(e.get_attribute("id")) for e in self.driver.find_elements("css selector", css)
            ]
        )

    async def path(self) -> str:
        from urllib.parse import urlsplit

        return await self._run(lambda: urlsplit(self.driver.current_url).path)

    async def source(self) -> str:
        return await self._run(lambda: str(self.driver.page_source))

    async def cookies(self) -> list[dict[str, Any]]:
        return await self._run(lambda: list(self.driver.get_cookies()))

    async def sign_in(self, key: str) -> None:
        """Sign in on the sign-in page (the one the browser is on, keeping where it was
        going, or a fresh one)."""
        if await self.path() != "/signin":
            await self.go("/signin")
        await self.fill("credential", key)
        await self.click("signin")

    async def sign_out(self) -> None:
        await self.click("signout")

    async def back(self) -> None:
        """The browser's Back button; waits for the page it lands on."""
        from selenium.webdriver.support.ui import WebDriverWait

        def work() -> None:
            self.driver.back()
            WebDriverWait(self.driver, 60).until(
                lambda d: d.execute_script("return document.readyState") == "complete"
            )

        await self._run(work)

    async def policy_violations(self) -> list[str]:
        """What the page's Content-Security-Policy refused since the last call (Chromium says
        so on the console): an inline script or style, a resource from elsewhere."""
        logs = await self._run(lambda: list(self.driver.get_log("browser")))
        return [
            str(entry.get("message"))
            for entry in logs
            if "Content Security Policy" in str(entry.get("message"))
        ]

    async def shot(self, name: str, sizes: tuple[tuple[int, int], ...] = (LAPTOP, PHONE)) -> None:
        """Screenshots of the whole page at each width, docs/screenshots/<name>-<width>.png."""

        def work() -> None:
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            for width, height in sizes:
                self.driver.set_window_size(width, height)
                full = self.driver.execute_script("return document.documentElement.scrollHeight")
                self.driver.set_window_size(width, max(height, min(int(full), 6000)))
                label = "laptop" if width >= 1000 else "phone"
                self.driver.save_screenshot(str(SCREENSHOTS / f"{name}-{label}.png"))
            self.driver.set_window_size(*LAPTOP)

        await self._run(work)


def page_moved() -> tuple[type[BaseException], ...]:
    """What reading a page that reloads itself may raise between finding an element and
    reading it (the queue reloads every REFRESH_SECONDS): a wait on such a page counts these
    as "not yet" (`eventually(..., ignoring=page_moved())`)."""
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException

    return (StaleElementReferenceException, NoSuchElementException)


@asynccontextmanager
async def chromium(base: str) -> AsyncIterator[Browser]:
    """A fresh headless Chromium (its own profile folder) on the page at `base`. At the end
    of a test that passed, nothing the pages did was refused by their Content-Security-Policy
    (issue 26)."""
    missing = browser_missing()
    if missing:
        pytest.skip(f"no browser for the Case Center page tests: {missing}")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager never downloads
    profile = tempfile.mkdtemp(prefix="casework-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.add_argument(f"--window-size={LAPTOP[0]},{LAPTOP[1]}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # policy_violations
    driver = await asyncio.to_thread(
        webdriver.Chrome, service=Service(CHROMEDRIVER), options=options
    )
    driver.set_page_load_timeout(60)
    browser = Browser(driver, base)
    try:
        yield browser
        refused = await browser.policy_violations()
        assert not refused, f"the page's Content-Security-Policy refused: {refused}"
    finally:
        await asyncio.to_thread(driver.quit)
        shutil.rmtree(profile, ignore_errors=True)
