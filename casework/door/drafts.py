"""Drafts: what a person typed into a form the door could not take because their session had
ended (or the form was older than their session), kept so that signing in again brings the form
back filled (issue 26), instead of losing it.

A draft is kept on the server, never in a cookie, keyed to the browser (the `casework_browser`
cookie: random, HttpOnly, SameSite=Strict, so another site's page never makes one) and to the
person whose session the form came from (the sealed session says whose it was, even once
expired, `casework.door.session`). It is given back once, to that person in that browser, on the
page the form is on; to anyone else it does not exist. Bounded: text fields only (a file is
never kept: the page asks for it again), MAX_FIELD_CHARS a field, MAX_DRAFT_CHARS a draft,
MAX_PER_BROWSER a browser, MAX_DRAFTS in all (the oldest go first), and each expires after
DRAFT_HOURS.

Kept in the door's memory: a door restarted, or another door of the deployment behind a load
balancer, does not have it (the person then types it again, as before).
"""

from __future__ import annotations

import re
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass

BROWSER_COOKIE = "casework_browser"
BROWSER_DAYS = 30
MAX_FIELD_CHARS = 20_000
MAX_FIELDS = 16
MAX_DRAFT_CHARS = 64_000
MAX_PER_BROWSER = 5
MAX_DRAFTS = 1_000
DRAFT_HOURS = 24
_BROWSER_ID = re.compile(r"[A-Za-z0-9_-]{16,64}")
NOT_KEPT = frozenset({"csrf"})
"""Fields never kept: the form's CSRF token belongs to the session it was drawn in."""


@dataclass(frozen=True)
class Draft:
    owner: str
    """The directory id of the person who typed it."""
    page: str
    """The path of the page the form is on (`/cases/new`, `/cases/case-000001`)."""
    form: str
    """Which form of that page: `open`, an action's name, `attach`."""
    fields: dict[str, str]
    saved: float


def new_browser_id() -> str:
    return secrets.token_urlsafe(24)


def valid_browser_id(value: str | None) -> str | None:
    return value if value and _BROWSER_ID.fullmatch(value) else None


class Drafts:
    """The door's drafts, in memory, bounded and expiring."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._kept: OrderedDict[tuple[str, str], Draft] = OrderedDict()

    def __len__(self) -> int:
        self._expire()
        return len(self._kept)

    def keep(
        self,
        browser: str | None,
        owner: str | None,
        page: str,
        form: str,
        fields: Mapping[str, str],
    ) -> bool:
        """Keep what was typed; False (nothing kept) without a browser or an owner to keep it
        for, or with no text in it. A field past its bound is cut to it, extra fields dropped."""
        browser = valid_browser_id(browser)
        if browser is None or not owner:
            return False
        kept: dict[str, str] = {}
        total = 0
        for name, value in fields.items():
            if name in NOT_KEPT or not isinstance(value, str) or len(kept) >= MAX_FIELDS:
                continue
            value = value[: min(MAX_FIELD_CHARS, MAX_DRAFT_CHARS - total)]
            total += len(value) + len(name)
            kept[name[:64]] = value
            if total >= MAX_DRAFT_CHARS:
                break
        if not any(v.strip() for v in kept.values()):
            return False
        self._expire()
        key = (browser, page)
        self._kept.pop(key, None)
        self._kept[key] = Draft(owner, page, form, kept, self._clock())
        mine = [k for k in self._kept if k[0] == browser]
        for old in mine[: max(0, len(mine) - MAX_PER_BROWSER)]:
            del self._kept[old]
        while len(self._kept) > MAX_DRAFTS:
            self._kept.popitem(last=False)
        return True

    def take(self, browser: str | None, person: str, page: str) -> Draft | None:
        """The draft of `page` this browser kept for `person`, given back once; None if there
        is none, it expired, or it is someone else's (left for them, until it expires)."""
        browser = valid_browser_id(browser)
        if browser is None:
            return None
        self._expire()
        draft = self._kept.get((browser, page))
        if draft is None or draft.owner != person:
            return None
        del self._kept[(browser, page)]
        return draft

    def _expire(self) -> None:
        oldest = self._clock() - DRAFT_HOURS * 3600
        while self._kept:
            key, draft = next(iter(self._kept.items()))
            if draft.saved > oldest:
                break
            del self._kept[key]
