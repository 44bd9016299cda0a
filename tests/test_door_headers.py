"""Every answer of the door carries its security headers (issue 26), found by walking the app's
own routes, so that a route added later is checked without anyone listing it here: a
Content-Security-Policy with no inline script (unless named by hash) and no framing, nosniff, a
same-origin referrer, and `Cache-Control: no-store` on everything but `/static` (a signed-in
page is never kept: Back after signing out asks the door again).

Each route is asked signed in (the page's session cookie and an API key of Alice, whose case it
is) and signed out, with every method it takes; its path parameters are Alice's case, an action,
an attachment and a problem type that exist, so the case's page answers 200 as a person sees it.
"""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

import httpx
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from starlette.routing import Mount

from casework.door.errors import PROBLEMS
from casework.door.headers import DOCS_PATHS
from casework.store import Store
from tests.conftest import Desk
from tests.door_helpers import bearer, door_app, key_for, serving
from tests.test_door_clock import signed_in

SIGNED_IN_PAGES = ("/cases", "/cases/new", "/cases/{case}")
"""Pages that must answer 200 to a signed-in person here: the walk reached real pages."""


def directives(policy: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            found[words[0]] = words[1:]
    return found


def inline_scripts(html: str) -> list[str]:
    return re.findall(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", html, re.S | re.I)


def sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def requests_for(app: FastAPI, values: dict[str, str]) -> list[tuple[str, str, str]]:
    """(method, route path, URL) for every route of the app and every method it takes."""
    asked = []
    for route in iter_route_contexts(app.routes):  # included routers' routes, with prefixes
        assert route.path is not None, route
        if isinstance(route.original_route, Mount):
            asked.append(("GET", route.path, f"{route.path}/casework.css"))
            continue
        url = route.path.format(**values)
        for method in sorted((route.methods or {"GET"}) - {"HEAD"}):
            asked.append((method, route.path, url))
    return [*asked, ("GET", "(no route)", "/no-such-page")]  # what no route answers


def check_headers(answer: httpx.Response, what: str) -> None:
    """The headers every answer carries, and a policy that the answer's own page obeys."""
    headers = answer.headers
    assert headers.get("x-content-type-options") == "nosniff", what
    assert headers.get("referrer-policy") == "same-origin", what
    policy = directives(headers.get("content-security-policy", ""))
    assert policy.get("frame-ancestors") == ["'none'"], what
    assert policy.get("default-src") == ["'none'"], what
    scripts = policy.get("script-src", [])
    assert not {"'unsafe-inline'", "'unsafe-eval'", "*"} & set(scripts), what
    assert "'unsafe-inline'" not in policy.get("style-src", []), what
    if "text/html" in headers.get("content-type", ""):
        for script in inline_scripts(answer.text):
            assert sha256(script) in scripts, f"{what}: an inline script the policy does not name"
        assert not re.search(r"<[^>]+\s(style|on\w+)=", answer.text), (
            f"{what}: inline style/handler"
        )
    if not answer.request.url.path.startswith("/static/"):
        assert headers.get("cache-control") == "no-store", what


async def test_every_route_answers_with_the_security_headers_signed_in_or_not(
    dev_desk: Desk, store: Store, tmp_path: Path
) -> None:
    """On the dev server, where the list of cases answers (visibility)."""
    alice = key_for(store, "acme-alice")
    case_id = await dev_desk.open()
    await dev_desk.until(case_id, lambda v: v.owner is not None)
    values = {
        "case": case_id,
        "action": "comment",
        "attachment": "att-1",
        "slug": next(iter(PROBLEMS.values()))[0],
        "webhook_id": "wh-1",
    }
    app = door_app(store, dev_desk, tmp_path)
    asked = requests_for(app, values)
    assert {path for _, path, _ in asked} >= {*SIGNED_IN_PAGES, "/v1/cases/{case}", *DOCS_PATHS}

    answered_ok: set[str] = set()
    async with serving(app) as stranger, serving(app) as http:
        await signed_in(http, alice)
        for method, path, url in asked:
            if path == "/signout":
                continue  # asked last: it ends the session
            answer = await http.request(method, url, headers=bearer(alice))
            check_headers(answer, f"{method} {url} signed in: {answer.status_code}")
            if answer.status_code == 200 and method == "GET":
                answered_ok.add(path)
            answer = await stranger.request(method, url)
            check_headers(answer, f"{method} {url} signed out: {answer.status_code}")
        assert answered_ok >= set(SIGNED_IN_PAGES), answered_ok
        check_headers(await http.post("/signout"), "POST /signout")


async def test_the_api_browser_may_run_only_its_own_inline_script(
    desk: Desk, store: Store, tmp_path: Path
) -> None:
    """`/docs` starts Swagger UI with an inline script: the policy names that script by hash
    (and Swagger's CDN), nothing else inline."""
    async with serving(door_app(store, desk, tmp_path)) as http:
        docs = await http.get("/docs")
    assert docs.status_code == 200
    scripts = inline_scripts(docs.text)
    assert scripts, "FastAPI's /docs starts Swagger UI inline"
    allowed = directives(docs.headers["content-security-policy"])["script-src"]
    assert sorted(allowed) == sorted(["https://cdn.jsdelivr.net", *(sha256(s) for s in scripts)])
