"""The Temporal Web UI of a real `casework up` on a port other than 8233 (issue 26), from the
outside: the UI is pointed at the door's codec, the codec answers that UI's origin only, a
person signed in to the Case Center in the same browser decodes what they may read when the UI
sends its credentials ("Include cross-origin credentials"), an anonymous caller decodes nothing,
and every case's summary reads in the UI's API without the codec, a restricted one saying only
that it is restricted (U5)."""

from __future__ import annotations

import base64
import json
import re
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.test_canary_up import histories, keys_of, payloads_in
from tests.test_up import Engine, engines, free_port  # noqa: F401 (engines is a fixture)

pytestmark = pytest.mark.timeout(180)

DECODE_HEADERS = "content-type,x-namespace"


def preflight(api: str, path: str, origin: str) -> httpx.Response:
    """What a browser asks before the UI's page at `origin` posts to `path`."""
    return httpx.options(
        f"{api}{path}",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": DECODE_HEADERS,
        },
        timeout=30,
    )


def signed_in(api: str, key: str) -> httpx.Cookies:
    """The cookies of a browser that signed in to the Case Center with `key`."""
    with httpx.Client(base_url=api, timeout=30) as browser:
        form = browser.get("/signin")
        found = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert found, form.text
        answer = browser.post("/signin", data={"credential": key, "csrf": found.group(1)})
        assert answer.status_code == 303, answer.text
        return browser.cookies


def decode_as_the_ui(
    api: str, ui: str, payloads: list[dict[str, Any]], cookies: httpx.Cookies | None
) -> str:
    """The UI's decode request, with or without its credentials; the answer's texts."""
    answer = httpx.post(
        f"{api}/codec/decode",
        json={"payloads": payloads},
        headers={"Origin": ui, "X-Namespace": "default"},
        cookies=cookies,
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["access-control-allow-origin"] == ui
    return " ".join(
        base64.b64decode(p.get("data", "")).decode("utf-8", "replace")
        for p in answer.json()["payloads"]
    )


def summary_in_the_ui(ui: str, case_id: str) -> str:
    """The case's summary as the UI's own API hands it to the page: no codec involved."""
    described = httpx.get(f"{ui}/api/v1/namespaces/default/workflows/{case_id}", timeout=30)
    assert described.status_code == 200, described.text
    summary = described.json()["executionConfig"]["userMetadata"]["summary"]
    assert base64.b64decode(summary["metadata"]["encoding"]) == b"json/plain"
    return str(json.loads(base64.b64decode(summary["data"])))


def test_the_web_ui_on_another_port_reaches_the_codec_and_decodes_for_its_signed_in_person(
    tmp_path: Path,
    engines: list[Engine],  # noqa: F811
) -> None:
    canary = f"CANARY-{uuid.uuid4().hex}"
    state = tmp_path / "state"
    port, ui_port, api_port = free_port(), free_port(), free_port()
    assert ui_port != 8233
    engine = Engine(state, port, ui_port, "--api-port", str(api_port))
    engines.append(engine)
    said = engine.wait_for("Web UI:")
    engine.wait_for("Ctrl+C")
    api, ui = f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{ui_port}"
    assert ui in said
    keys = keys_of(state)

    # The UI is pointed at the door's codec ...
    settings = httpx.get(f"{ui}/api/v1/settings", timeout=30).json()
    assert settings["Codec"]["Endpoint"] == f"{api}/codec"
    # ... which answers this UI's origin, by either name, and no other; the rest of the door
    # answers no other origin at all.
    for origin in (ui, f"http://localhost:{ui_port}"):
        allowed = preflight(api, "/codec/decode", origin)
        assert allowed.headers.get("access-control-allow-origin") == origin
        assert allowed.headers.get("access-control-allow-credentials") == "true"
    for origin in ("http://localhost:8233", "http://127.0.0.1:8233", "http://evil.example"):
        assert "access-control-allow-origin" not in preflight(api, "/codec/decode", origin).headers
    assert "access-control-allow-origin" not in preflight(api, "/v1/cases", ui).headers

    restricted = engine.casework(
        *("--profile", "cyberdyne-judy", "open", "--product", "FortiGate", "--version", "7.4.3"),
        *("--priority", "P2", "--description", f"Enclave firewall drops IPsec {canary}"),
    )
    assert restricted.returncode == 0, restricted.stderr
    restricted_id = restricted.stdout.split()[0]
    ordinary = engine.casework(
        *("--profile", "globex-carol", "open", "--product", "FortiManager", "--version", "7.2.1"),
        *("--priority", "P3", "--description", f"Policy install fails {canary}-ordinary"),
    )
    assert ordinary.returncode == 0, ordinary.stderr
    ordinary_id = ordinary.stdout.split()[0]

    # Every case reads a summary in the UI, without the codec; a restricted one only that.
    assert summary_in_the_ui(ui, ordinary_id).startswith(f"{ordinary_id} · P3 GOLD · Globex")
    shown = summary_in_the_ui(ui, restricted_id)
    assert shown == f"{restricted_id} · P2 PLATINUM · details restricted (US Citizen Support)"

    history = histories(ui, [restricted_id, ordinary_id])
    restricted_payloads = payloads_in(history[1])
    ordinary_payloads = payloads_in(history[3])
    assert canary not in " ".join(history)

    # No credential (the UI's default): nothing decodes.
    anonymous = decode_as_the_ui(api, ui, restricted_payloads + ordinary_payloads, None)
    assert canary not in anonymous
    # An operator signed in (an Escalation Manager): ordinary cases, not restricted ones (U5).
    operator = signed_in(api, keys["em-jon"]["key"])
    assert f"{canary}-ordinary" in decode_as_the_ui(api, ui, ordinary_payloads, operator)
    assert canary not in decode_as_the_ui(api, ui, restricted_payloads, operator)
    # A member of the restricted queue signed in: the restricted case too.
    member = signed_in(api, keys["usc-kara"]["key"])
    assert canary in decode_as_the_ui(api, ui, restricted_payloads, member)
    # The same cookie sent by another site's page, or a UI on the default port, decodes nothing.
    for elsewhere in ("http://evil.example", "http://127.0.0.1:8233"):
        answer = httpx.post(
            f"{api}/codec/decode",
            json={"payloads": restricted_payloads},
            headers={"Origin": elsewhere},
            cookies=member,
            timeout=30,
        )
        assert answer.status_code == 200 and canary not in answer.text
        assert "access-control-allow-origin" not in answer.headers
    assert engine.stop() == 0


def test_in_a_real_browser_the_web_ui_decodes_for_the_operator_signed_in_to_the_case_center(
    tmp_path: Path,
    engines: list[Engine],  # noqa: F811
) -> None:
    """Debian's chromium, as an operator does it (docs/api.md): sign in to the Case Center,
    set the UI's codec to the browser's setting with Include cross-origin credentials, open
    the cases. An Escalation Manager reads the ordinary case, not the restricted one (U5)."""
    from tests.browser import browser_missing

    missing = browser_missing()
    if missing:
        pytest.skip(missing)
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    canary = f"CANARY-{uuid.uuid4().hex}"
    state = tmp_path / "state"
    port, ui_port, api_port = free_port(), free_port(), free_port()
    engine = Engine(state, port, ui_port, "--api-port", str(api_port))
    engines.append(engine)
    engine.wait_for("Ctrl+C")
    api, ui = f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{ui_port}"
    opened = {}
    for who, product, text in (
        ("globex-carol", "FortiManager", f"{canary}-ordinary"),
        ("cyberdyne-judy", "FortiGate", f"{canary}-restricted"),
    ):
        result = engine.casework(
            *("--profile", who, "open", "--product", product, "--version", "7.2.1"),
            *("--priority", "P3", "--description", f"It fails: {text}"),
        )
        assert result.returncode == 0, result.stderr
        opened[who] = result.stdout.split()[0]

    driver = chromium()
    try:
        wait = WebDriverWait(driver, 60)
        driver.get(f"{api}/signin")
        driver.find_element(By.NAME, "credential").send_keys(keys_of(state)["em-jon"]["key"])
        driver.find_element(By.CSS_SELECTOR, "form button[type=submit], form button").click()
        wait.until(lambda d: "/signin" not in d.current_url)

        driver.get(f"{ui}/namespaces/default/workflows")
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "[data-testid^=data-encoder-status]"))
        driver.find_element(By.CSS_SELECTOR, "[data-testid^=data-encoder-status]").click()
        labels = wait.until(lambda d: named(d, "label", "browser setting"))
        labels.click()
        endpoint = wait.until(
            lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid=data-encoder-endpoint-input]")
        )
        endpoint.clear()
        endpoint.send_keys(f"{api}/codec")
        named(driver, "label", "Include cross-origin credentials").click()
        assert driver.find_element(By.ID, "pass-access-credentials").is_selected()
        named(driver, "button", "Apply").click()

        driver.get(f"{ui}/namespaces/default/workflows/{opened['globex-carol']}")
        wait.until(lambda d: f"{canary}-ordinary" in d.find_element(By.TAG_NAME, "body").text)
        driver.get(f"{ui}/namespaces/default/workflows/{opened['cyberdyne-judy']}")
        # its input is on the page, still encrypted (base64 of ciphertext), the canary nowhere
        wait.until(lambda d: re.search(r'"[A-Za-z0-9+/]{60,}', page_text(d)))
        assert f"{canary}-restricted" not in page_text(driver)
    finally:
        driver.quit()
    assert engine.stop() == 0
    said = engine.everything_said()
    assert "POST /decode 200" in said and "principal=em-jon" in said  # the cookie reached it


def chromium() -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    from tests.browser import CHROMEDRIVER, CHROMIUM, FLAGS

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*FLAGS, "--window-size=1400,1000"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


def named(driver: Any, tag: str, text: str) -> Any:
    """The visible `tag` element whose text holds `text`, or None (to wait on)."""
    from selenium.webdriver.common.by import By

    for element in driver.find_elements(By.CSS_SELECTOR, tag):
        if text in element.text and element.is_displayed():
            return element
    return None


def page_text(driver: Any) -> str:
    from selenium.webdriver.common.by import By

    return str(driver.find_element(By.TAG_NAME, "body").text)
