"""The Case Center page's sign-in and its pure parts (issue 13): the sealed session cookie,
CSRF on every form, no open redirect, a revoked key ends the session at the next click, and
which forms a person is offered (the engine's allowed actions, narrowed to their kind)."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from starlette.datastructures import FormData

from casework.domain.models import CaseView
from casework.door.page import _safe_next, form_body
from casework.door.people import Identity
from casework.door.presentation import duration_words, offered_actions
from casework.door.service import parse_size
from casework.door.session import Session, Sessions
from casework.identity.keyring import fresh_ring
from casework.store import Store
from tests.conftest import TEST_RING, Desk
from tests.door_helpers import door, key_for

ALICE = Identity(id="acme-alice", kind="contact", name="Alice", account="acme")
ERIN = Identity(id="gsc-erin", kind="engineer", name="Erin", level="L1")


def test_a_session_cookie_opens_only_untouched_unexpired_and_under_the_same_ring() -> None:
    sessions = Sessions(TEST_RING)
    cookie, session = sessions.new("cw_0123456789ab_secret")
    assert sessions.open(cookie) == session
    assert "secret" not in cookie
    flipped = cookie[:10] + ("A" if cookie[10] != "A" else "B") + cookie[11:]
    assert sessions.open(flipped) is None
    assert Sessions(fresh_ring()).open(cookie) is None  # another deployment's ring
    expired = sessions.seal(Session("Bearer x", "t", time.time() - 1))
    assert sessions.open(expired) is None
    assert sessions.open("x" * 5000) is None and sessions.open("not base64!") is None


def test_only_a_path_of_this_site_is_a_place_to_go_after_sign_in() -> None:
    assert _safe_next("/cases/case-000001?page=2") == "/cases/case-000001?page=2"
    for elsewhere in ("//evil.example/x", "https://evil.example", "/\\evil.example", "", None):
        assert _safe_next(elsewhere) == "/cases"


def test_a_form_becomes_the_actions_fields() -> None:
    form = FormData([("items", "logs"), ("items", "configuration"), ("text", " "), ("csrf", "t")])
    assert form_body("request_info", form) == {"items": ["logs", "configuration"]}
    assert form_body("comment", FormData([("text", "")])) == {"text": ""}  # the case names it
    assert form_body("close", FormData([("reason", "")])) == {}
    assert form_body("escalate_now", FormData([("reason", "expertise"), ("priority", "")])) == {
        "reason": "expertise"
    }


def test_the_forms_offered_are_the_engines_allowed_actions_for_the_persons_kind() -> None:
    view = CaseView.model_construct(
        allowed_actions=["attach", "close", "comment", "escalate", "respond"],
        content_withheld=False,
        attachments=[],
    )
    assert [o.name for o in offered_actions(ALICE, view)] == ["comment", "close"]
    assert [o.name for o in offered_actions(ERIN, view)] == ["respond", "comment", "escalate"]
    withheld = view.model_copy(update={"content_withheld": True})
    assert offered_actions(ERIN, withheld) == []


def test_words_for_durations_and_sizes() -> None:
    assert duration_words(3 * 3600 + 61) == "3h 2m left"
    assert duration_words(-90) == "2m overdue"
    assert duration_words(2 * 86400) == "2d left"
    assert parse_size("256MB") == 256 << 20 and parse_size("500kb") == 500 << 10
    assert parse_size("1048576") == 1 << 20
    for bad in ("lots", "0", "-5MB", "100TB", "65GB"):
        with pytest.raises(ValueError):
            parse_size(bad)


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)


async def _sign_in(http: httpx.AsyncClient, key: str, next: str = "/cases") -> httpx.Response:
    form = await http.get(f"/signin?next={next}")
    return await http.post(
        "/signin", data={"credential": key, "csrf": _csrf(form.text), "next": next}
    )


async def test_sign_in_refuses_bad_keys_and_forged_forms_and_a_revoked_key_ends_the_session(
    store: Store, desk: Desk, tmp_path: Path
) -> None:
    alice = key_for(store, "acme-alice")
    case_id = await desk.open(account_id="globex", contact_id="globex-carol")
    async with door(store, desk, tmp_path) as http:
        assert (await http.get("/cases")).headers["location"].startswith("/signin?next=")
        bad = await _sign_in(http, "cw_0123456789ab_" + "y" * 43)
        assert bad.status_code == 401 and "not known" in bad.text
        forged = await http.post("/signin", data={"credential": alice, "csrf": "guess"})
        assert forged.status_code == 400 and "expired" in forged.text
        assert "casework_session" not in http.cookies

        went = await _sign_in(http, alice, next="//evil.example/steal")
        assert went.status_code == 303 and went.headers["location"] == "/cases"
        cookie = went.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and alice not in cookie
        assert (await http.get("/cases/new")).status_code == 200

        other = await http.get(f"/cases/{case_id}")  # Globex's case: not Alice's to see
        assert other.status_code == 403 and "not of globex" in other.text
        missing = await http.get("/cases/case-999999")
        assert missing.status_code == 404 and "there is no case case-999999" in missing.text

        page = await http.get("/cases/new")
        no_token = await http.post(
            "/cases/new", data={"product": "FortiGate", "description": "x", "csrf": "nope"}
        )
        assert no_token.status_code == 400
        opened = await http.post(
            "/cases/new",
            data={"product": "FortiGate", "version": "7.4.3", "priority": "P9", "description": "x"}
            | {"csrf": _csrf(page.text)},
        )
        assert opened.status_code == 422 and "priority must be P1, P2 or P3" in opened.text

        store.api_keys.revoke(alice.split("_")[1], datetime.now(UTC))
        after = await http.get("/cases/new")
        assert after.status_code == 303 and after.headers["location"].startswith("/signin")
