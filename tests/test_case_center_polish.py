"""The Case Center page as people meet it on their first day (issue 26), over HTTP in-process:
every error a person can reach is a page saying what happened and what to do (the API keeps
problem+json); a form sent after the session ended comes back filled after signing in again,
for that person only; customers read plain words; each person reads times in their own zone;
a partner's engineer opens a case for their partner's customer (P3); several files go in one
upload, and images, PDFs and text are previewed safely, never for a non-member (U5)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import update

from casework.door.session import COOKIE, Session, Sessions
from casework.store import Store
from casework.store.tables import contacts
from tests.conftest import TEST_RING, Desk
from tests.door_helpers import door, key_for

pytestmark = pytest.mark.timeout(120)
RULE_ID = re.compile(r"\((?:[ASEUP]\d{1,2}(?:, )?)+\)")
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)


async def sign_in(http: httpx.AsyncClient, key: str, next: str = "/cases") -> httpx.Response:
    form = await http.get(f"/signin?next={next}")
    return await http.post(
        "/signin", data={"credential": key, "csrf": _csrf(form.text), "next": next}
    )


def is_page(answer: httpx.Response, status: int, *words: str) -> str:
    assert answer.status_code == status, answer.text[:800]
    assert answer.headers["content-type"].startswith("text/html"), answer.headers
    assert 'id="what-to-do"' in answer.text, answer.text[:800]
    for word in words:
        assert word in answer.text, (word, answer.text[:1500])
    return answer.text


async def test_every_error_a_person_reaches_is_a_page_and_the_api_keeps_problems(
    store: Store, desk: Desk, tmp_path: Path
) -> None:
    async with door(store, desk, tmp_path, max_upload_bytes=1024) as http:
        is_page(await http.get("/no/such/page"), 404, "There is no page at /no/such/page")
        api = await http.get("/v1/no-such-thing")
        assert api.status_code == 404
        assert api.headers["content-type"].startswith("application/problem+json")

        assert (await sign_in(http, key_for(store, "acme-alice"))).status_code == 303
        is_page(await http.get("/cases/case-999999"), 404, "there is no case case-999999")
        is_page(await http.get("/cases/case-000001?page=zero"), 400, "page")
        is_page(await http.get("/cases/case-000001/act/comment"), 405, "takes a form")
        is_page(await http.get("/signout"), 405)
        page = await http.get("/cases/new")
        stale = await http.post(
            "/cases/new", data={"product": "FortiGate", "description": "kept?", "csrf": "old"}
        )
        text = is_page(stale, 400, "expired", "What you typed is kept")
        assert 'href="/cases/new"' in text
        back = await http.get("/cases/new")
        assert "kept?" in back.text and 'id="draft-back"' in back.text
        assert _csrf(back.text) == _csrf(page.text)

        big = await http.post(
            "/cases/case-000001/attachments",
            files={"file": ("big.log", b"x" * 4096)},
            data={"csrf": _csrf(page.text)},
        )
        is_page(big, 413, "smaller")


async def test_a_form_sent_after_the_session_ended_comes_back_filled_for_that_person_only(
    store: Store, desk: Desk, tmp_path: Path
) -> None:
    case_id = await desk.open(account_id="acme", contact_id="acme-alice", priority="P3")
    alice, bob = key_for(store, "acme-alice"), key_for(store, "acme-bob")
    words = "The cluster failed over twice since 09:00; logs follow"
    async with door(store, desk, tmp_path) as http:
        await sign_in(http, alice)
        page = await http.get(f"/cases/{case_id}")
        assert page.status_code == 200, page.text[:500]
        # the session ends (8 hours later): the cookie still says whose it was, sealed
        ended = Sessions(TEST_RING).seal(
            Session(f"Bearer {alice}", _csrf(page.text), time.time() - 1, person="acme-alice")
        )
        http.cookies.set(COOKIE, ended, domain="door.local", path="/")
        sent = await http.post(
            f"/cases/{case_id}/act/comment",
            data={"csrf": _csrf(page.text), "text": words, "idempotency_key": "k" * 32},
        )
        assert sent.status_code == 303, sent.text[:500]
        assert sent.headers["location"].startswith(f"/signin?next=/cases/{case_id}")
        signin = await http.get(sent.headers["location"])
        assert 'id="kept"' in signin.text

        # another person signing in on this browser never sees it
        await sign_in(http, bob, next=f"/cases/{case_id}")
        other = await http.get(f"/cases/{case_id}")
        assert words not in other.text and 'id="draft-back"' not in other.text
        await http.post("/signout", data={"csrf": _csrf(other.text)})

        await sign_in(http, alice, next=f"/cases/{case_id}")
        mine = await http.get(f"/cases/{case_id}")
        assert words in mine.text and 'id="draft-back"' in mine.text
        again = await http.get(f"/cases/{case_id}")  # given back once
        assert words not in again.text


async def test_customers_read_plain_words_and_engineers_keep_rule_ids(
    store: Store, desk: Desk, tmp_path: Path
) -> None:
    case_id = await desk.open(account_id="acme", contact_id="acme-alice", priority="P2")
    async with door(store, desk, tmp_path) as http:
        await sign_in(http, key_for(store, "acme-alice"))
        customer = (await http.get(f"/cases/{case_id}")).text
        assert not RULE_ID.findall(customer), RULE_ID.findall(customer)
        assert "escalate_now" not in customer.replace('"escalate_now"', "").replace(
            "escalate_now-", ""
        ).replace("/act/escalate_now", "").replace("-escalate_now", "")
        assert 'id="case-state">Queued for an engineer</span>' in customer or (
            "In progress" in customer
        )
    async with door(store, desk, tmp_path) as http:
        await sign_in(http, key_for(store, "gsc-erin"))
        engineer = (await http.get(f"/cases/{case_id}")).text
        assert "(S2)" in engineer or "(S4)" in engineer, engineer[:2000]


async def test_each_person_reads_times_in_their_own_zone(
    store: Store, desk: Desk, tmp_path: Path
) -> None:
    case_id = await desk.open(account_id="acme", contact_id="acme-alice", priority="P3")
    with store.engine.begin() as conn:
        conn.execute(
            update(contacts).where(contacts.c.id == "acme-alice").values(zone="America/New_York")
        )
    async with door(store, desk, tmp_path) as http:
        await sign_in(http, key_for(store, "acme-alice"))
        text = (await http.get(f"/cases/{case_id}")).text
        assert "times in America/New_York" in text
        assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d E[SD]T", text), text[:3000]
        assert " UTC" not in text.split('id="feed"')[1]
    async with door(store, desk, tmp_path) as http:
        await sign_in(http, key_for(store, "acme-bob"))  # no zone of their own: UTC
        text = (await http.get(f"/cases/{case_id}")).text
        assert "times in UTC" in text and re.search(r"\d\d:\d\d UTC", text)


async def test_a_partner_engineer_opens_a_case_for_their_partners_customer(
    store: Store, desk: Desk, tmp_path: Path
) -> None:
    async with door(store, desk, tmp_path) as http:
        await sign_in(http, key_for(store, "nw-nora"))
        listed = await http.get("/cases")
        assert 'id="new-case"' in listed.text
        form = await http.get("/cases/new")
        assert 'value="soylent/soylent-sam"' in form.text
        assert "acme-alice" not in form.text  # only the partner's own customers
        opened = await http.post(
            "/cases/new",
            data={
                "csrf": _csrf(form.text),
                "customer": "soylent/soylent-sam",
                "product": "FortiGate",
                "version": "7.4.3",
                "priority": "P3",
                "subject": "VPN tunnel drops",
                "description": "VPN tunnel drops hourly",
            },
        )
        assert opened.status_code == 303, opened.text[:1500]
        case_page = await http.get(opened.headers["location"])
        desk.opened.append(re.findall(r'id="case-id">([^<]+)<', case_page.text)[0])
        assert "VPN tunnel drops hourly" in case_page.text and "Soylent" in case_page.text
        wrong = await http.post(
            "/cases/new",
            data={"csrf": _csrf(form.text), "customer": "acme/acme-alice", "product": "F"}
            | {"version": "1", "priority": "P3", "description": "x"},
        )
        assert wrong.status_code in (403, 409, 422) and "northwind" in wrong.text.lower()


async def test_several_files_in_one_upload_and_safe_previews(
    store: Store, desk: Desk, tmp_path: Path
) -> None:
    case_id = await desk.open(account_id="acme", contact_id="acme-alice", priority="P3")
    async with door(store, desk, tmp_path) as http:
        await sign_in(http, key_for(store, "acme-alice"))
        page = await http.get(f"/cases/{case_id}")
        assert '<label for="attach-file">' in page.text
        sent = await http.post(
            f"/cases/{case_id}/attachments",
            data={"csrf": _csrf(page.text), "kind": "log", "idempotency_key": "u" * 32},
            files=[
                ("file", ("screen.png", PNG, "image/png")),
                ("file", ("boot.log", b"line one\n<script>alert(1)</script>\n", "text/plain")),
                ("file", ("fake.png", b"<svg onload=alert(1)>", "image/png")),
            ],
        )
        assert sent.status_code == 303, sent.text[:1500]
        shown = (await http.get(f"/cases/{case_id}")).text
        ids = dict(re.findall(r'id="file-([^"]+)">.*?· ([\w.]+)</a>', shown, re.S))
        ids = {name: aid for aid, name in ids.items()}
        assert set(ids) == {"screen.png", "boot.log", "fake.png"}, shown[-3000:]
        assert f'id="thumb-{ids["screen.png"]}"' in shown

        image = await http.get(f"/cases/{case_id}/files/{ids['screen.png']}/preview")
        assert image.status_code == 200 and image.headers["content-type"] == "image/png"
        assert image.headers["content-disposition"].startswith("inline;")
        assert image.headers["x-content-type-options"] == "nosniff"
        assert "default-src 'none'" in image.headers["content-security-policy"]
        text = await http.get(f"/cases/{case_id}/files/{ids['boot.log']}/preview")
        assert text.headers["content-type"] == "text/plain; charset=utf-8"
        fake = await http.get(f"/cases/{case_id}/files/{ids['fake.png']}/preview")
        is_page(fake, 415, "no preview")

        too_many = await http.post(
            f"/cases/{case_id}/attachments",
            data={"csrf": _csrf(page.text), "kind": "log"},
            files=[("file", (f"f{i}.log", b"x", "text/plain")) for i in range(11)],
        )
        is_page(too_many, 413, "at most 10 files")
    async with door(store, desk, tmp_path) as http:
        await sign_in(http, key_for(store, "globex-carol"))  # not of Acme: no file, no preview
        refused = await http.get(f"/cases/{case_id}/files/{ids['screen.png']}/preview")
        assert refused.status_code == 403 and refused.headers["content-type"] != "image/png"
