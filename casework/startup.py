"""The line every casework process logs as it starts (issue 27): its effective configuration,
secrets masked, so an operator reading a log knows what the process was running with.

It says which database (password masked), which Temporal (address, namespace, TLS, whether an
API key is set: never the key), which task queue, which key ring (where from and how many keys:
never a secret), the relay's mail settings (the SMTP user, whether a password is set), its
lanes, and the metrics and health ports. `register_secrets` tells `casework.redact` this
process's secrets first, so that no later line can carry them either.
"""

from __future__ import annotations

import base64
import logging
import os
from typing import TYPE_CHECKING, Any

from casework.redact import masked_url, redact, register_secret, url_origin
from casework.settings import Settings, environment

if TYPE_CHECKING:
    from casework.identity.keyring import KeyRing
    from casework.notify.config import RelayConfig

log = logging.getLogger("casework.startup")


def register_secrets(ring: KeyRing | None = None, relay: RelayConfig | None = None) -> None:
    """What this process knows to be secret, masked in every log line from now on."""
    register_secret(os.environ.get("TEMPORAL_API_KEY"))
    told = environment()
    register_secret(told.smtp_password)
    register_secret(told.keyring)
    if relay is not None:
        register_secret(relay.smtp_password)
    if ring is not None:
        for key in ring.keys:
            register_secret(base64.b64encode(key.secret).decode())
            register_secret(key.secret.hex())


def temporal_of(target: str | None, namespace: str | None) -> dict[str, Any]:
    """The Temporal connection as the SDK's environment configuration and `target` make it."""
    try:
        from temporalio.envconfig import ClientConfig

        config: dict[str, Any] = dict(ClientConfig.load_client_connect_config())
    except Exception:
        config = {}
    tls = config.get("tls")
    return {
        "address": target or config.get("target_host") or "localhost:7233",
        "namespace": namespace or config.get("namespace") or "default",
        "tls": bool(tls),
        "client_certificate": bool(getattr(tls, "client_cert", None)),
        "api_key": "set" if config.get("api_key") else "unset",
        "profile": os.environ.get("TEMPORAL_PROFILE") or None,
    }


def relay_of(relay: RelayConfig | None) -> dict[str, Any] | None:
    if relay is None:
        return None
    return {
        "smtp": f"{relay.smtp_host}:{relay.smtp_port}",
        "smtp_tls": relay.smtp_tls,
        "smtp_user": relay.smtp_user,
        "smtp_password": "set" if relay.smtp_password else "unset",
        "mail_from": relay.mail_from,
        "public_url": url_origin(relay.public_url),
        "max_attempts": relay.max_attempts,
        "backoff_seconds": relay.backoff_seconds,
        "backoff_max_seconds": relay.backoff_max_seconds,
        "lanes": {
            lane: {"concurrency": relay.concurrency(lane), "timeout_seconds": relay.timeout(lane)}
            for lane in relay.lanes()
        },
    }


def ring_of(ring: KeyRing | None) -> dict[str, Any] | None:
    if ring is None:
        return None
    source = ring.source
    if source not in ("CASEWORK_KEYRING", "memory"):
        source = f"file {source}"
    return {"source": source, "keys": len(ring.keys)}


def announce(
    role: str,
    settings: Settings,
    *,
    temporal: str | None = None,
    namespace: str | None = None,
    ring: KeyRing | None = None,
    relay: RelayConfig | None = None,
    **more: Any,
) -> dict[str, Any]:
    """Log `role`'s effective configuration in one line (returns it, for tests)."""
    config: dict[str, Any] = {
        "role": role,
        "pid": os.getpid(),
        "state_dir": str(settings.state_dir),
        "database": masked_url(settings.db_url),
        "temporal": temporal_of(temporal, namespace),
        "task_queue": settings.task_queue,
        "policy": str(settings.policy_file) if settings.policy_file else "default (S1)",
        "directory": str(settings.directory_file) if settings.directory_file else None,
        "key_ring": ring_of(ring),
        "relay": relay_of(relay),
        "log_format": environment().log_format or "auto",
        "tracing": bool(
            os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
            or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        ),
        **more,
    }
    summary = ", ".join(
        f"{k}={v}" for k, v in config.items() if k not in ("relay", "temporal") and v is not None
    )
    temporal_line = config["temporal"]
    log.info(
        "%s starting: %s; temporal %s (namespace %s, tls %s, api key %s)",
        role,
        summary,
        temporal_line["address"],
        temporal_line["namespace"],
        temporal_line["tls"],
        temporal_line["api_key"],
        extra={"config": _redacted(config)},
    )
    return config


def _redacted(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: _redacted(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redacted(v) for v in value]
    return value
