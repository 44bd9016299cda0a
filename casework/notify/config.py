"""Where the relay sends: SMTP server, the casework API's public address for links, attempts
and backoff. From the environment (a deployment) or given (`casework up`, tests)."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from casework.notify.contracts import LANES

CONCURRENCY = {"email": 4, "chat": 8, "page": 8, "webhook": 16}
"""Sends at once per lane by default (email: SMTP connections, each sending one mail at a
time)."""

ENV = {
    "smtp_host": "CASEWORK_SMTP_HOST",
    "smtp_port": "CASEWORK_SMTP_PORT",
    "smtp_tls": "CASEWORK_SMTP_TLS",
    "smtp_user": "CASEWORK_SMTP_USER",
    "smtp_password": "CASEWORK_SMTP_PASSWORD",
    "mail_from": "CASEWORK_MAIL_FROM",
    "public_url": "CASEWORK_PUBLIC_URL",
    "max_attempts": "CASEWORK_RELAY_MAX_ATTEMPTS",
    "backoff_seconds": "CASEWORK_RELAY_BACKOFF",
    "backoff_max_seconds": "CASEWORK_RELAY_BACKOFF_MAX",
    "timeout_seconds": "CASEWORK_RELAY_TIMEOUT",
    **{f"{lane}_concurrency": f"CASEWORK_RELAY_{lane.upper()}_CONCURRENCY" for lane in LANES},
    **{f"{lane}_timeout_seconds": f"CASEWORK_RELAY_{lane.upper()}_TIMEOUT" for lane in LANES},
}


class RelayConfigError(ValueError):
    """The relay's configuration is wrong: the message names the variable and the fix."""


class RelayConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    smtp_host: str = Field(default="127.0.0.1", min_length=1, max_length=253)
    smtp_port: int = Field(default=8025, ge=1, le=65535)
    smtp_tls: Literal["none", "starttls", "tls"] = "none"
    """none: plain SMTP (the embedded sink); starttls: upgrade on port 587; tls: implicit TLS
    on port 465."""
    smtp_user: str | None = Field(default=None, max_length=200)
    smtp_password: str | None = Field(default=None, max_length=500)
    mail_from: str = Field(default="casework@localhost", min_length=3, max_length=320)
    public_url: str = Field(default="http://127.0.0.1:8234", pattern=r"^https?://\S+$")
    """The casework API as people reach it: messages link to `<public_url>/v1/cases/<id>`."""
    max_attempts: int = Field(default=8, ge=1, le=100)
    """Attempts before a row is dead-lettered (`casework outbox --failed`)."""
    backoff_seconds: float = Field(default=5.0, gt=0, le=3600)
    """The wait after the first failure; it doubles after each one ..."""
    backoff_max_seconds: float = Field(default=900.0, gt=0, le=86_400)
    """... up to this."""
    timeout_seconds: float = Field(default=15.0, gt=0, le=300)
    """One send's limit (SMTP conversation, HTTP request), for a lane without its own."""
    email_concurrency: int = Field(default=CONCURRENCY["email"], ge=1, le=64)
    chat_concurrency: int = Field(default=CONCURRENCY["chat"], ge=1, le=64)
    page_concurrency: int = Field(default=CONCURRENCY["page"], ge=1, le=64)
    webhook_concurrency: int = Field(default=CONCURRENCY["webhook"], ge=1, le=64)
    email_timeout_seconds: float | None = Field(default=None, gt=0, le=300)
    chat_timeout_seconds: float | None = Field(default=None, gt=0, le=300)
    page_timeout_seconds: float | None = Field(default=None, gt=0, le=300)
    webhook_timeout_seconds: float | None = Field(default=None, gt=0, le=300)

    @staticmethod
    def lanes() -> tuple[str, ...]:
        return LANES

    def concurrency(self, lane: str) -> int:
        return int(getattr(self, f"{lane}_concurrency"))

    def timeout(self, lane: str) -> float:
        """One send's limit on `lane` (its own, else `timeout_seconds`)."""
        own = getattr(self, f"{lane}_timeout_seconds")
        return float(own if own is not None else self.timeout_seconds)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **given: object) -> RelayConfig:
        """`given` wins over the environment (CASEWORK_SMTP_HOST, ... see ENV)."""
        env = os.environ if env is None else env
        values: dict[str, object] = {
            field: env[name] for field, name in ENV.items() if env.get(name, "").strip()
        }
        values.update({k: v for k, v in given.items() if v is not None})
        try:
            return cls.model_validate(values)
        except ValidationError as e:
            problems = []
            for error in e.errors():
                field = str(error["loc"][0]) if error["loc"] else "?"
                problems.append(f"{ENV.get(field, field)}: {error['msg']}")
            raise RelayConfigError(
                "the notification relay's configuration is wrong: " + "; ".join(problems)
            ) from None

    def backoff(self, failed_attempts: int) -> float:
        """Seconds to wait after the `failed_attempts`-th failure in a row."""
        return min(self.backoff_max_seconds, self.backoff_seconds * 2 ** (failed_attempts - 1))


JOINED = "relay.json"
"""Under the state folder: where `casework up` says how its relay sends (its sink's port), so
that a worker joining it (`casework worker --join`) sends the same way."""
SHARED_FIELDS = ("smtp_host", "smtp_port", "smtp_tls", "mail_from", "public_url")


def save_for_joiners(state_dir: Path, config: RelayConfig) -> None:
    """No secrets: a joiner takes SMTP credentials from its own environment."""
    path = state_dir / JOINED
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(config.model_dump(include=set(SHARED_FIELDS)), f)


def for_joiner(state_dir: Path) -> RelayConfig:
    """A joining worker's relay: the engine's (its sink), unless CASEWORK_SMTP_HOST says."""
    path = state_dir / JOINED
    if os.environ.get(ENV["smtp_host"], "").strip() or not path.exists():
        return RelayConfig.from_env()
    try:
        shared = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise RelayConfigError(f"{path} cannot be read ({e}): restart `casework up`") from None
    return RelayConfig.from_env(**{k: shared.get(k) for k in SHARED_FIELDS})
