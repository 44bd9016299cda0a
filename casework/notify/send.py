"""Sending one message on one channel: SMTP (aiosmtplib), a chat webhook, a pager (PagerDuty
Events v2 or a generic webhook), an integration's signed webhook. A failure says whether a
retry may help (`SendFailed`) or not (`Undeliverable`: fix the directory or the subscription,
then `casework outbox retry`)."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime
from email.charset import QP, Charset
from email.header import Header
from email.message import Message
from email.utils import format_datetime, formataddr, parseaddr
from typing import Any, cast

import aiosmtplib
import httpx

from casework.notify.compose import Outgoing, message_id
from casework.notify.config import RelayConfig
from casework.notify.signing import signed_headers
from casework.redact import url_origin


class DeliveryError(Exception):
    """`kind` names the failure for logs and metrics (`timeout`, `connection`, `http_503`,
    `smtp`, `no_channel`, ...); the message says more, naming a receiver by its origin only
    (a chat or pager URL is its own credential: casework.redact)."""

    def __init__(self, message: str, kind: str = "error") -> None:
        super().__init__(message)
        self.kind = kind


class SendFailed(DeliveryError):
    """The channel did not take it this time (network, 5xx, 429): retried with backoff."""


class Undeliverable(DeliveryError):
    """It cannot go out as things are (no channel, a 4xx): dead-lettered at once."""


def http_error_kind(error: Exception) -> str:
    if isinstance(error, httpx.TimeoutException):
        return "timeout"
    if isinstance(error, httpx.NetworkError):
        return "connection"
    return type(error).__name__.lower()


SMTP_LINE = 998
"""RFC 5322's longest line: a text with a longer line goes quoted-printable."""
_UTF8 = Charset("utf-8")
_UTF8.header_encoding = _UTF8.body_encoding = QP


def _one_line(value: str) -> str:
    """A header value on one line: a line break in it would start a header of its own."""
    return " ".join(value.splitlines())


def _text_header(value: str) -> str:
    """ASCII as it is; anything else as RFC 2047 encoded words (a compat32 `Header`, which
    `Message` takes where typeshed says str)."""
    value = _one_line(value)
    return value if value.isascii() else cast(str, Header(value, _UTF8))


def _address_header(value: str) -> str:
    value = _one_line(value)
    return value if value.isascii() else formataddr(parseaddr(value), charset="utf-8")


def mail_for(config: RelayConfig, to: str, message: Outgoing) -> Message:
    """The mail of `message` to `to`. Built with the `email` package's compat32 API: its
    default policy parses every header into a structured object, about 0.6 ms a mail on the
    worker's event loop, the largest part of the relay's CPU (issue 30's profile)."""
    mail = Message()
    mail["From"] = _address_header(config.mail_from)
    mail["To"] = _address_header(to)
    mail["Subject"] = _text_header(message.subject)
    mail["Date"] = format_datetime(datetime.now(UTC))
    mail["Message-ID"] = message_id(message.key)
    mail["X-Casework-Key"] = _text_header(message.key)
    if message.case_id:
        mail["X-Casework-Case"] = _text_header(message.case_id)
    mail["MIME-Version"] = "1.0"
    text = message.text
    plain = text.isascii() and all(len(line) <= SMTP_LINE for line in text.splitlines())
    mail.set_payload(text, "us-ascii" if plain else _UTF8)
    return mail


class Mailer:
    """One SMTP connection for a round of the relay, opened on the first mail and reused (a
    connection per mail costs a handshake, and TLS and auth, each time); a failure drops it and
    the next mail connects again. Mails go one at a time on it."""

    def __init__(self, config: RelayConfig) -> None:
        self.config = config
        self.smtp: aiosmtplib.SMTP | None = None
        self.lock = asyncio.Lock()

    async def send(self, to: str, message: Outgoing) -> None:
        config = self.config
        async with self.lock:
            try:
                if self.smtp is None or not self.smtp.is_connected:
                    self.smtp = aiosmtplib.SMTP(
                        hostname=config.smtp_host,
                        port=config.smtp_port,
                        use_tls=config.smtp_tls == "tls",
                        start_tls=True if config.smtp_tls == "starttls" else False,
                        timeout=config.timeout_seconds,
                    )
                    await self.smtp.connect()
                    if config.smtp_user:
                        await self.smtp.login(config.smtp_user, config.smtp_password or "")
                await self.smtp.send_message(mail_for(config, to, message))
            except aiosmtplib.SMTPRecipientsRefused as e:
                raise Undeliverable(
                    f"the SMTP server refused {to}: {e}", "smtp_recipient_refused"
                ) from None
            except (TimeoutError, aiosmtplib.SMTPException, OSError) as e:
                await self.close()
                kind = (
                    "timeout"
                    if isinstance(e, TimeoutError | aiosmtplib.SMTPTimeoutError)
                    else (
                        "smtp_auth" if isinstance(e, aiosmtplib.SMTPAuthenticationError) else "smtp"
                    )
                )
                raise SendFailed(
                    f"SMTP {config.smtp_host}:{config.smtp_port}: {type(e).__name__}: {e}", kind
                ) from None

    async def close(self) -> None:
        smtp, self.smtp = self.smtp, None
        if smtp is not None and smtp.is_connected:
            try:
                await smtp.quit()
            except (TimeoutError, aiosmtplib.SMTPException, OSError):
                smtp.close()


async def send_mail(config: RelayConfig, to: str, message: Outgoing) -> None:
    """One mail on a connection of its own."""
    mailer = Mailer(config)
    try:
        await mailer.send(to, message)
    finally:
        await mailer.close()


async def post(
    http: httpx.AsyncClient, url: str, body: bytes, headers: dict[str, str], what: str
) -> None:
    where = url_origin(url)  # the path of a chat or pager URL is its credential
    try:
        response = await http.post(
            url, content=body, headers={"Content-Type": "application/json", **headers}
        )
    except httpx.HTTPError as e:
        raise SendFailed(f"{what} {where}: {type(e).__name__}", http_error_kind(e)) from None
    if response.is_success:
        return
    said = response.text[:200]
    kind = f"http_{response.status_code}"
    if response.status_code in (408, 425, 429) or response.status_code >= 500:
        raise SendFailed(f"{what} {where} answered {response.status_code}: {said}", kind)
    raise Undeliverable(f"{what} {where} refused it with {response.status_code}: {said}", kind)


async def post_json(
    http: httpx.AsyncClient, url: str, payload: dict[str, Any], key: str, what: str
) -> None:
    await post(http, url, json.dumps(payload).encode(), {"Idempotency-Key": key}, what)


async def post_signed(
    http: httpx.AsyncClient, url: str, body: str, *, key: str, event_id: str, secret: str
) -> None:
    """An integration's webhook: the body as queued, signed the Standard Webhooks way (and with
    casework's own headers for a while: casework.notify.signing)."""
    try:
        signed = signed_headers(secret, event_id, body, int(time.time()))
    except ValueError as e:
        raise Undeliverable(
            f"the webhook's secret cannot sign: {e}; add the webhook again for a new secret "
            "(casework webhooks add) and remove this one",
            "bad_secret",
        ) from None
    await post(http, url, body.encode(), {"Idempotency-Key": key, **signed}, "webhook")
