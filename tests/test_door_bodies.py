"""Whatever a request's body holds, the door answers it (issue 24): a body that is not JSON, not
a JSON object, nested deeper than the door takes, or with fields of the wrong type is a 422 that
says what was wrong, on every route that reads a body (the API's open and actions, the
webhooks, the Case Center page's forms); a few hundred generated bodies never get a 5xx. A
control character in a one-line field is refused naming the field; texts keep their lines."""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from casework.store import Store
from tests.conftest import Desk
from tests.door_helpers import bearer, door, key_for

pytestmark = pytest.mark.timeout(240)

SEED = 24
"""The fuzzed bodies are the same on every run: a failure names the body that caused it."""
DEEPER_THAN_THE_BOUND = 17
"""One level more than the door takes (casework.door.bodies.MAX_JSON_DEPTH, 16)."""
HA_PROBLEM = {
    "product": "FortiGate",
    "version": "7.4.3",
    "priority": "P2",
    "description": "HA cluster fails over every few minutes",
}
OPERATOR = "gsc-erin"


@pytest.fixture(autouse=True)
def _operators(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CASEWORK_OPERATORS", OPERATOR)  # who may manage webhooks


def nested(depth: int, leaf: Any = "x", as_object: bool = False) -> bytes:
    """A JSON value `depth` levels deep, written without recursion."""
    leaf_json = json.dumps(leaf)
    if as_object:
        return ('{"a":' * depth + leaf_json + "}" * depth).encode()
    return ("[" * depth + leaf_json + "]" * depth).encode()


def in_field(field: str, value: bytes) -> bytes:
    return b'{"' + field.encode() + b'": ' + value + b"}"


@dataclass(frozen=True)
class Route:
    """A route that reads a JSON body, who sends it, and a body it takes."""

    path: str
    person: str
    body: dict[str, Any]


def routes(case_id: str) -> list[Route]:
    act = f"/v1/cases/{case_id}/actions"
    return [
        Route("/v1/cases", "acme-alice", HA_PROBLEM),
        Route("/v1/cases", "cc-dana", {**HA_PROBLEM, "account_id": "globex"}),
        Route("/v1/cases", "nw-nora", {**HA_PROBLEM, "account_id": "soylent"}),
        Route(f"{act}/comment", "acme-alice", {"text": "Both units run 7.4.3"}),
        Route(f"{act}/comment", "cc-dana", {"text": "caller", "on_behalf_of": "acme-bob"}),
        Route(f"{act}/change_priority", "acme-alice", {"priority": "P2", "reason": "same"}),
        Route(f"{act}/escalate_now", "acme-alice", {"reason": "expertise", "note": "n"}),
        Route(f"{act}/decline_logs", "acme-alice", {"request_id": "x-1", "reason": "no"}),
        Route(f"{act}/request_info", OPERATOR, {"items": ["logs"], "text": "the HA log"}),
        Route(f"{act}/request_log_approval", OPERATOR, {"logs": ["att-1"], "note": ""}),
        Route(f"{act}/file_problem_report", OPERATOR, {"summary": "ipsd crash"}),
        Route("/v1/webhooks", OPERATOR, {"url": "https://hooks.example/cw", "events": ["all"]}),
    ]


WRONG_TYPES: tuple[Any, ...] = (7, 2.5, True, ["x"], {"x": 1}, 10**30)


def wrong_type_for(value: Any, rng: random.Random) -> Any:
    """A value of another JSON type than `value` (never null: some fields may be null)."""
    choices = [w for w in WRONG_TYPES if type(w) is not type(value)]
    if isinstance(value, list):
        choices = [w for w in choices if not isinstance(w, list)]
    return rng.choice(choices)


def malformed(route: Route, rng: random.Random) -> tuple[str, bytes]:
    """A body the route must answer 422: not JSON, not an object, too deep, wrong types."""
    kind = rng.choice(["garbage", "truncated", "not_object", "deep", "wrong_type", "number"])
    valid = json.dumps(route.body).encode()
    if kind == "garbage":
        raw = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 120)))
        return kind, raw if not raw.strip().startswith(b"{") else b"{" + raw
    if kind == "truncated":
        return kind, valid[: rng.randrange(1, len(valid))]
    if kind == "not_object":
        value = rng.choice([[], [route.body], "text", 7, None, True, [1, [2, [3]]]])
        return kind, json.dumps(value).encode()
    if kind == "deep":
        depth = rng.choice([DEEPER_THAN_THE_BOUND, 64, 999, 1_000, 5_000, 100_000])
        as_object = rng.random() < 0.5
        if rng.random() < 0.3:
            return kind, nested(depth, as_object=as_object)
        return kind, in_field(rng.choice(list(route.body)), nested(depth, as_object=as_object))
    if kind == "number":  # a literal Python parses to a float that is not a JSON number
        field = rng.choice(list(route.body))
        return kind, in_field(field, rng.choice([b"NaN", b"Infinity", b"-Infinity", b"1e400"]))
    field = rng.choice(list(route.body))
    return kind, json.dumps({**route.body, field: wrong_type_for(route.body[field], rng)}).encode()


CONTROLS = ("\x00", "\x07", "\x1b", "\x7f", "\x85", "\u2028", "\u2029", "\r\n", "\t", "\ud800")


def odd(route: Route, rng: random.Random) -> tuple[str, bytes]:
    """A body that may be taken or refused, but never answered with a 5xx."""
    kind = rng.choice(["control", "unknown", "long", "bom", "duplicate", "big_int", "bad_utf8"])
    strings = [k for k, v in route.body.items() if isinstance(v, str)] or list(route.body)
    field = rng.choice(strings)
    if kind == "control":
        value = str(route.body[field])
        at = rng.randrange(len(value) + 1)
        changed = {**route.body, field: value[:at] + rng.choice(CONTROLS) + value[at:]}
        return kind, json.dumps(changed).encode()
    if kind == "unknown":
        return kind, json.dumps({**route.body, "zz": rng.choice(WRONG_TYPES)}).encode()
    if kind == "long":
        return kind, json.dumps({**route.body, field: "x" * rng.choice([201, 20_001])}).encode()
    if kind == "bom":
        return kind, b"\xef\xbb\xbf" + json.dumps(route.body).encode()
    if kind == "duplicate":
        return kind, json.dumps(route.body).encode()[:-1] + b', "' + field.encode() + b'": 1}'
    if kind == "big_int":
        return kind, in_field(field, b"9" * 5_000)
    return kind, b'{"' + field.encode() + b'": "\xff\xfe"}'


def fuzzed(case_id: str, count: int) -> Iterator[tuple[Route, str, bytes, bool]]:
    """(route, kind, body, must be 422), the same on every run."""
    rng = random.Random(SEED)
    every = routes(case_id)
    for n in range(count):
        route = every[n % len(every)]
        if rng.random() < 0.75:
            kind, body = malformed(route, rng)
            yield route, kind, body, True
        else:
            kind, body = odd(route, rng)
            yield route, kind, body, False


def is_problem(answer: httpx.Response) -> bool:
    return answer.headers.get("content-type", "").startswith("application/problem+json") and bool(
        answer.json().get("detail")
    )


async def test_a_body_nested_deeper_than_the_bound_is_refused_saying_so(
    store: Store, desk: Desk, tmp_path: Path
) -> None:
    """The 13 fuzzed bodies of 1,000 that answered 500 (RecursionError): too deep to take."""
    case_id = await desk.open(account_id="acme", contact_id="acme-alice")
    async with door(store, desk, tmp_path, raise_app_exceptions=False) as http:
        keys = {p: bearer(key_for(store, p)) for p in ("acme-alice", OPERATOR)}
        for route in (r for r in routes(case_id) if r.person in keys):
            for body in (
                nested(100_000),
                nested(100_000, as_object=True),
                in_field(next(iter(route.body)), nested(DEEPER_THAN_THE_BOUND)),
                in_field(next(iter(route.body)), nested(DEEPER_THAN_THE_BOUND, as_object=True)),
            ):
                answer = await http.post(route.path, content=body, headers=keys[route.person])
                assert answer.status_code == 422, (route.path, body[:40], answer.text[:300])
                detail = answer.json()["detail"]
                assert "nested" in detail and "16" in detail, detail
            shallow = in_field("zz", nested(DEEPER_THAN_THE_BOUND - 2))  # JSON it takes
            answer = await http.post(route.path, content=shallow, headers=keys[route.person])
            assert answer.status_code == 422 and "nested" not in answer.json()["detail"]


async def test_not_json_not_an_object_or_a_field_of_the_wrong_type_is_a_422(
    store: Store, desk: Desk, tmp_path: Path
) -> None:
    case_id = await desk.open(account_id="acme", contact_id="acme-alice")
    alice, dana, erin = (bearer(key_for(store, p)) for p in ("acme-alice", "cc-dana", OPERATOR))
    act = f"/v1/cases/{case_id}/actions"
    sent: list[tuple[str, dict[str, str], bytes, str]] = [
        ("/v1/cases", alice, b"{not json", "not JSON"),
        ("/v1/cases", alice, b"[1, 2]", "JSON object"),
        ("/v1/cases", alice, b'{"channel": ["web"]}', "channel"),
        ("/v1/cases", alice, json.dumps({**HA_PROBLEM, "account_id": 5}).encode(), "account_id"),
        ("/v1/cases", dana, json.dumps({**HA_PROBLEM, "received_by": 5}).encode(), "received_by"),
        (f"{act}/comment", alice, b"\xff\xfe", "not JSON"),
        (f"{act}/comment", alice, b"null", "JSON object"),
        (f"{act}/comment", alice, b'{"text": {"a": 1}}', "text"),
        (f"{act}/comment", dana, b'{"text": "x", "on_behalf_of": 7}', "on_behalf_of"),
        ("/v1/webhooks", erin, b"{not json", "not JSON"),
        ("/v1/webhooks", erin, b'"https://hooks.example"', "JSON object"),
        ("/v1/webhooks", erin, b'{"url": "https://h.example", "events": 5}', "events"),
        ("/v1/webhooks", erin, b'{"url": 5, "events": ["all"]}', "url"),
        ("/v1/webhooks", erin, b'{"url": "https://h.example", "events": {"all": 1}}', "events"),
        ("/v1/webhooks", erin, b'{"url": "https://h.example/\\u001b[31m"}', "U+001B"),
    ]
    async with door(store, desk, tmp_path, raise_app_exceptions=False) as http:
        for path, who, body, words in sent:
            answer = await http.post(path, content=body, headers=who)
            assert answer.status_code == 422, (path, body, answer.text)
            assert is_problem(answer) and words in answer.json()["detail"], (path, answer.text)
        # forms: a multipart body that does not parse, on the API and on the page
        broken = {"Content-Type": "multipart/form-data; boundary=b0undary"}
        unnamed = b"--b0undary\r\nContent-Disposition: form-data\r\n\r\nx"  # a part, no name
        upload = await http.post(
            f"/v1/cases/{case_id}/attachments", content=unnamed, headers=alice | broken
        )
        assert upload.status_code == 422 and is_problem(upload), upload.text
        no_boundary = {"Content-Type": "multipart/form-data"}
        upload = await http.post(
            f"/v1/cases/{case_id}/attachments", content=b"x", headers=alice | no_boundary
        )
        assert upload.status_code == 422 and "boundary" in upload.json()["detail"], upload.text
        csrf = await sign_in(http, key_for(store, "acme-alice"))
        a_file_for_a_text = await http.post(
            "/cases/new",
            data={"csrf": csrf, **{k: v for k, v in HA_PROBLEM.items() if k != "description"}},
            files={"description": ("a.log", b"HA log", "text/plain")},
        )
        assert a_file_for_a_text.status_code == 422, a_file_for_a_text.text  # not its repr
        assert "description" in a_file_for_a_text.text
        forms = ("/cases/new", f"/cases/{case_id}/act/comment", f"/cases/{case_id}/attachments")
        for path in forms:
            page = await http.post(path, content=unnamed, headers=broken)
            assert page.status_code == 422, (path, page.text)
            many = "&".join(f"f{n}=x" for n in range(1_001)).encode()
            urlencoded = {"Content-Type": "application/x-www-form-urlencoded"}
            page = await http.post(path, content=many, headers=urlencoded)
            assert page.status_code == 422 and "fields" in page.text, (path, page.text)


async def sign_in(http: httpx.AsyncClient, key: str) -> str:
    """Sign in to the page; the session's CSRF token."""
    form = await http.get("/signin")
    token = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert token, form.text[:300]
    done = await http.post("/signin", data={"credential": key, "csrf": token.group(1)})
    assert done.status_code == 303, done.text
    page = await http.get("/cases/new")
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found, page.text[:300]
    return found.group(1)


async def test_three_hundred_fuzzed_bodies_never_get_a_server_error(
    store: Store, desk: Desk, tmp_path: Path
) -> None:
    """Every malformed body is a 422 problem; none of the others is a 5xx either."""
    case_id = await desk.open(account_id="acme", contact_id="acme-alice")
    keys: dict[str, dict[str, str]] = {}
    answers: dict[str, list[str]] = {}
    async with door(store, desk, tmp_path, raise_app_exceptions=False) as http:
        for n, (route, kind, body, must_refuse) in enumerate(fuzzed(case_id, 300)):
            if route.person not in keys:
                keys[route.person] = bearer(key_for(store, route.person))
            headers = keys[route.person] | {"Content-Type": "application/json"}
            answer = await http.post(route.path, content=body, headers=headers)
            said = f"#{n} {kind} {route.path} {body[:60]!r}: {answer.status_code} {answer.text}"
            answers.setdefault(f"{kind} {answer.status_code}", []).append(said)
            assert answer.status_code < 500, said
            if must_refuse:
                assert answer.status_code == 422 and is_problem(answer), said
            if route.path == "/v1/cases" and answer.status_code == 200:
                desk.opened.append(answer.json()["case_id"])
        csrf = await sign_in(http, key_for(store, "acme-alice"))
        rng = random.Random(SEED)
        for n in range(60):
            path = rng.choice(
                ["/cases/new", f"/cases/{case_id}/act/comment", f"/cases/{case_id}/attachments"]
            )
            fields = {"csrf": csrf, "text": "x", **HA_PROBLEM}
            field = rng.choice(list(fields))
            fields[field] = fields[field] + rng.choice(CONTROLS[:-1])
            kind = rng.choice(["urlencoded", "multipart", "garbage"])
            if kind == "urlencoded":
                answer = await http.post(path, data=fields)
            elif kind == "multipart":
                answer = await http.post(
                    path, data=fields, files={rng.choice(["file", "text"]): ("a.log", b"x")}
                )
            else:
                raw = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200)))
                content_type = rng.choice(
                    ["multipart/form-data; boundary=zz", "application/x-www-form-urlencoded"]
                )
                answer = await http.post(path, content=raw, headers={"Content-Type": content_type})
            said = f"page #{n} {kind} {path}: {answer.status_code} {answer.text[:200]}"
            assert answer.status_code < 500, said
            if path == "/cases/new" and answer.status_code == 303:
                opened = answer.headers["location"].split("/")[2].split("?")[0]
                desk.opened.append(opened)
    assert len(answers) > 10, sorted(answers)  # the generator reached many kinds of answer


async def test_a_control_character_in_a_one_line_field_is_refused_naming_the_field(
    store: Store, desk: Desk, tmp_path: Path
) -> None:
    """A CR LF inside `version` was accepted at open. One-line fields (ids, product, version,
    names, one-line reasons) take no control characters; texts keep line breaks and tabs."""
    case_id = await desk.open(account_id="acme", contact_id="acme-alice")
    alice = bearer(key_for(store, "acme-alice"))
    act = f"/v1/cases/{case_id}/actions"
    refused = [
        ("/v1/cases", {**HA_PROBLEM, "version": "7.4\r\n.3"}, "version"),
        ("/v1/cases", {**HA_PROBLEM, "product": "Forti\x00Gate"}, "product"),
        ("/v1/cases", {**HA_PROBLEM, "description": "HA \x1b[31mdown"}, "description"),
        ("/v1/cases", {**HA_PROBLEM, "description": "HA\u2028down"}, "description"),
        (f"{act}/comment", {"text": "red \x1b[31mERR"}, "text"),
        (f"{act}/comment", {"text": "a\x7fb"}, "text"),
        (f"{act}/change_priority", {"priority": "P1", "reason": "a\nb"}, "reason"),
        (f"{act}/close", {"reason": "done\x85now"}, "reason"),
    ]
    async with door(store, desk, tmp_path, raise_app_exceptions=False) as http:
        for path, body, field in refused:
            answer = await http.post(path, json=body, headers=alice)
            assert answer.status_code == 422, (path, body, answer.text)
            problem = answer.json()
            assert problem["fields"] == [field], problem
            assert problem["detail"].count(field) >= 1 and "U+" in problem["detail"], problem
        named = await http.post(
            f"/v1/cases/{case_id}/attachments",
            files={"file": ("ha.log", b"x", "text/plain")},
            data={"name": "ha\r\n.log"},
            headers=alice,
        )
        assert named.status_code == 422 and named.json()["fields"] == ["name"], named.text
        lines = "Both units run 7.4.3.\r\nSecond line\twith a tab."
        taken = await http.post(
            f"/v1/cases/{case_id}/actions/comment", json={"text": lines}, headers=alice
        )
        assert taken.status_code == 200, taken.text
        opened = await http.post(
            "/v1/cases", json={**HA_PROBLEM, "description": lines}, headers=alice
        )
        assert opened.status_code == 200, opened.text
        desk.opened.append(opened.json()["case_id"])
        view = (await http.get(f"/v1/cases/{case_id}", headers=alice)).json()
    comments = [e["text"] for e in view["feed"] if e["kind"] == "comment"]
    assert comments == [lines], comments  # nothing refused reached the case
