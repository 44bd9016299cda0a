"""Every `CASEWORK_*` variable as one pydantic-settings object (casework.settings reads it)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from casework.settings.fields import (
    BUILD_ID_PATTERN,
    DEFAULT_DEPLOYMENT_NAME,
    DEFAULT_TASK_QUEUE,
    DEFAULT_UI_ORIGINS,
    DEPLOYMENT_NAME_PATTERN,
    MAX_LIST,
    MAX_PATH,
    MAX_UPLOAD_BOUND,
    MAX_UPLOAD_BYTES,
    MAX_VERSION_NAME,
    NAME_PATTERN,
    URL_PATTERN,
    RelayFields,
    parse_size,
    variable,
)


class Environment(BaseSettings, RelayFields):
    """Every `CASEWORK_*` variable (module docstring); `environment()` reads it."""

    model_config = SettingsConfigDict(case_sensitive=True, extra="ignore", frozen=True)

    # --- the engine ---------------------------------------------------------------------------
    state_dir: Path | None = variable(
        "CASEWORK_STATE_DIR",
        "a folder, like /var/lib/casework",
        "The engine's state folder (temporal.db, casework.db, keyring.json, profiles).",
        default=None,
        shown_default="`.state` in the current folder",
    )
    db_url: str | None = variable(
        "CASEWORK_DB_URL",
        "a database URL, like postgresql+psycopg://casework@db/casework",
        "The casework database (SQLAlchemy URL; PostgreSQL or SQLite).",
        default=None,
        shown_default="`sqlite:///<state>/casework.db`",
        max_length=2000,
        pattern=r"^[A-Za-z][A-Za-z0-9+.-]*://\S*$",
    )
    directory: Path | None = variable(
        "CASEWORK_DIRECTORY",
        "a YAML file, like /etc/casework/directory.yaml",
        "The directory file loaded at start (validated first, replacing the loaded one).",
        default=None,
        shown_default="the demo directory, on first run",
    )
    policy: Path | None = variable(
        "CASEWORK_POLICY",
        "a YAML file, like /etc/casework/policy.yaml",
        "The SLA policy file (S5).",
        default=None,
        shown_default="the S1 table (`casework/data/default-policy.yaml`)",
    )
    task_queue: str = variable(
        "CASEWORK_TASK_QUEUE",
        "a task queue name without spaces, at most 200 characters",
        "The workers' Temporal task queue.",
        default=DEFAULT_TASK_QUEUE,
        min_length=1,
        max_length=200,
        pattern=r"^\S+$",
    )
    # --- worker versioning (issue 28) ---------------------------------------------------------
    deployment_name: str = variable(
        "CASEWORK_DEPLOYMENT_NAME",
        f"letters, digits, _ and - (no . or :), at most {MAX_VERSION_NAME} characters",
        "The Temporal Worker Deployment the workers register their version in; every worker "
        "of one engine names the same (docs/deployment.md, Upgrades).",
        default=DEFAULT_DEPLOYMENT_NAME,
        min_length=1,
        max_length=MAX_VERSION_NAME,
        pattern=DEPLOYMENT_NAME_PATTERN,
    )
    build_id: str | None = variable(
        "CASEWORK_BUILD_ID",
        f"letters, digits and . _ + - (no :), at most {MAX_VERSION_NAME} characters, like 0.2.0",
        "This worker's version (build id) in the deployment: cases started on it stay on it "
        "until they roll over onto the current version. Two builds of different code must "
        "never share one.",
        default=None,
        shown_default="the installed casework package's version, like 0.2.0",
        max_length=MAX_VERSION_NAME,
        pattern=BUILD_ID_PATTERN,
    )
    worker_versioning: Literal["on", "off"] = variable(
        "CASEWORK_WORKER_VERSIONING",
        "on or off (true/false, yes/no, 1/0 also)",
        "Whether `casework up`, `casework worker` and `python worker.py` register a deployment "
        "version (Worker Versioning); off: an unversioned worker, as before 0.2.0.",
        default="on",
    )
    # --- logs ---------------------------------------------------------------------------------
    log_format: Literal["json", "text"] | None = variable(
        "CASEWORK_LOG_FORMAT",
        "json or text",
        "How log lines are written.",
        default=None,
        shown_default="JSON, unless the logs go to a terminal",
    )
    log_level: Literal["debug", "info", "warning", "error"] | None = variable(
        "CASEWORK_LOG_LEVEL",
        "debug, info, warning or error",
        "The least a log line must matter to be written.",
        default=None,
        shown_default="info",
    )
    # --- the key ring -------------------------------------------------------------------------
    keyring: str | None = variable(
        "CASEWORK_KEYRING",
        "the key ring's JSON, as `casework keyring export` writes it",
        "The key ring itself, e.g. injected from a secret manager; wins over the file.",
        secret=True,
        default=None,
        max_length=1_000_000,
    )
    keyring_file: Path | None = variable(
        "CASEWORK_KEYRING_FILE",
        "a JSON file, like /etc/casework/keyring.json",
        "Where the key ring is.",
        default=None,
        shown_default="`<state>/keyring.json`",
    )
    # --- the door (the casework API) ----------------------------------------------------------
    max_upload: int = variable(
        "CASEWORK_MAX_UPLOAD",
        "a size from 1 byte to 64GB, like 256MB, 10MB, 500KB or 1048576 (bytes)",
        "The largest attachment the door takes (KB = 1024 bytes).",
        default=MAX_UPLOAD_BYTES,
        shown_default="256MB",
        ge=1,
        le=MAX_UPLOAD_BOUND,
    )
    operators: Annotated[tuple[str, ...], NoDecode] = variable(
        "CASEWORK_OPERATORS",
        f"directory ids separated by commas, like em-jon,em-ines (at most {MAX_LIST})",
        "The people who may manage webhooks through the door (403 for anyone else).",
        default=(),
        max_length=MAX_LIST,
    )
    codec_cors_origins: Annotated[tuple[str, ...], NoDecode] = variable(
        "CASEWORK_CODEC_CORS_ORIGINS",
        "http(s) origins separated by commas, like https://temporal-ui.example.com",
        "The browser origins (the Web UI's address) that may call the codec server, with "
        "credentials; unset, `casework up` answers its own Web UI's (`--ui-port`), "
        "`casework api` the default port's.",
        default=DEFAULT_UI_ORIGINS,
        min_length=1,
        max_length=MAX_LIST,
    )
    oidc_issuer: str | None = variable(
        "CASEWORK_OIDC_ISSUER",
        "the identity provider's issuer URL, like https://login.example.com/",
        "OIDC: the issuer (`iss`) of bearer tokens. With the audience and the JWKS URL, "
        "turns on OIDC tokens at the door.",
        default=None,
        pattern=URL_PATTERN,
        max_length=2000,
    )
    oidc_audience: str | None = variable(
        "CASEWORK_OIDC_AUDIENCE",
        "the audience tokens for casework carry, at most 500 characters",
        "OIDC: the audience (`aud`) of tokens for casework.",
        default=None,
        max_length=500,
    )
    oidc_jwks_url: str | None = variable(
        "CASEWORK_OIDC_JWKS_URL",
        "an http(s) URL, like https://login.example.com/.well-known/jwks.json",
        "OIDC: where the provider publishes its signing keys.",
        default=None,
        pattern=URL_PATTERN,
        max_length=2000,
    )
    oidc_claim: str = variable(
        "CASEWORK_OIDC_CLAIM",
        "a claim's name, like sub or email",
        "OIDC: the claim that holds the directory id.",
        default="sub",
        max_length=100,
        pattern=NAME_PATTERN,
    )
    # --- the worker's metrics and health ------------------------------------------------------
    metrics_host: str = variable(
        "CASEWORK_METRICS_HOST",
        "an address to listen on, like 0.0.0.0",
        "Where `casework worker` serves metrics and health.",
        default="127.0.0.1",
        min_length=1,
        max_length=253,
        pattern=r"^\S+$",
    )
    metrics_port: int | None = variable(
        "CASEWORK_METRICS_PORT",
        "a TCP port from 1 to 65534",
        "`casework worker --metrics-port`: casework's metrics on it, the SDK's on the next.",
        default=None,
        ge=1,
        le=65534,
    )
    health_port: int | None = variable(
        "CASEWORK_HEALTH_PORT",
        "a TCP port from 1 to 65534",
        "`casework worker --health-port`: /livez and /readyz on it.",
        default=None,
        ge=1,
        le=65534,
    )
    # --- the CLI's people-facing commands -----------------------------------------------------
    profile: str | None = variable(
        "CASEWORK_PROFILE",
        "a profile's name, like acme-alice",
        "Who you are: a profile of ~/.config/casework/profiles.toml or <state>/profiles.toml.",
        default=None,
        max_length=100,
        pattern=NAME_PATTERN,
    )
    api_key: str | None = variable(
        "CASEWORK_API_KEY",
        "the key `casework keys create` printed (at most 8000 characters)",
        "Who you are, when no profile is named.",
        secret=True,
        default=None,
        max_length=8000,
    )
    url: str | None = variable(
        "CASEWORK_URL",
        "an http(s) URL, like https://casework.example.com",
        "The door (the casework API) the CLI talks to, for a key or a profile without a url.",
        default=None,
        shown_default="http://127.0.0.1:8234",
        pattern=URL_PATTERN,
        max_length=2000,
    )

    @model_validator(mode="before")
    @classmethod
    def _blank_is_unset(cls, data: Any) -> Any:
        """A value of only spaces is unset; others lose their surrounding spaces (not a
        password's: its spaces may be part of it)."""
        if not isinstance(data, dict):
            return data
        return {
            k: (v if k == "CASEWORK_SMTP_PASSWORD" or not isinstance(v, str) else v.strip())
            for k, v in data.items()
            if not (isinstance(v, str) and not v.strip())
        }

    @field_validator("state_dir", "directory", "policy", "keyring_file", mode="before")
    @classmethod
    def _path(cls, value: Any) -> Any:
        if isinstance(value, str) and len(value) > MAX_PATH:
            raise ValueError("too long to be a path")
        return value

    @field_validator("worker_versioning", mode="before")
    @classmethod
    def _on_off(cls, value: Any) -> Any:
        """on/off as the docs say it; true/false, yes/no, 1/0 too (anything else is refused)."""
        if isinstance(value, str):
            word = value.strip().lower()
            if word in ("on", "true", "yes", "1"):
                return "on"
            if word in ("off", "false", "no", "0"):
                return "off"
        return value

    @field_validator("log_format", "log_level", mode="before")
    @classmethod
    def _any_case(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value

    @field_validator("max_upload", mode="before")
    @classmethod
    def _size(cls, value: Any) -> Any:
        return parse_size(value) if isinstance(value, str) else value

    @field_validator("operators", "codec_cors_origins", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(i.strip() for i in value.split(",") if i.strip())
        return value

    @field_validator("operators")
    @classmethod
    def _ids(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if any(not re.match(NAME_PATTERN, i) or len(i) > 200 for i in value):
            raise ValueError("not directory ids")
        return value

    @field_validator("codec_cors_origins")
    @classmethod
    def _origins(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if any(not re.match(URL_PATTERN, o) or len(o) > 2000 for o in value):
            raise ValueError("not origins")
        return tuple(o.rstrip("/") for o in value)

    @model_validator(mode="after")
    def _oidc_whole_or_not_at_all(self) -> Environment:
        names = ("CASEWORK_OIDC_ISSUER", "CASEWORK_OIDC_AUDIENCE", "CASEWORK_OIDC_JWKS_URL")
        values = (self.oidc_issuer, self.oidc_audience, self.oidc_jwks_url)
        missing = [n for n, v in zip(names, values, strict=True) if v is None]
        if 0 < len(missing) < len(names):  # a half-configured provider refuses every token
            raise ValueError(
                f"OIDC is half configured: set {', '.join(missing)} too, or unset the others"
            )
        return self

    def is_set(self, field: str) -> bool:
        """Whether the environment says it (not the default)."""
        return field in self.model_fields_set

    def given(self, field: str) -> Any:
        """The environment's value, None when it does not say (what a process was told)."""
        return getattr(self, field) if self.is_set(field) else None

    def relay_values(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in RelayFields.model_fields}
