"""Every `CASEWORK_*` environment variable, read in one place (issue 25).

`environment()` is the process's `Environment`: one pydantic-settings object with every
variable's type, default, bound and description (docs/configuration.md is generated from it:
`python scripts/configuration_table.py`). A bad value is refused whole, at the start of the
process (`casework ...`, `python worker.py`), with each wrong variable named and what to write
(`SettingsRefused`); a value of only spaces counts as unset. Nothing else in casework reads
`os.environ` for a `CASEWORK_*` variable (tests/test_settings.py checks).

`Settings` is where one process keeps its state and which files it reads: flags win over the
environment, which wins over the defaults.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from casework.errors import CaseworkError
from casework.settings.environment import Environment
from casework.settings.fields import (
    DATA_DIR,
    DEFAULT_DEPLOYMENT_NAME,
    DEFAULT_POLICY_FILE,
    DEFAULT_TASK_QUEUE,
    DEFAULT_UI_ORIGINS,
    DEFAULT_UI_PORT,
    DEMO_DIRECTORY,
    MAX_PATH,
    MAX_UPLOAD_BOUND,
    MAX_UPLOAD_BYTES,
    PREFIX,
    RelayFields,
    parse_size,
    web_ui_origins,
)

__all__ = [
    "DATA_DIR",
    "DEFAULT_DEPLOYMENT_NAME",
    "DEFAULT_POLICY_FILE",
    "DEFAULT_TASK_QUEUE",
    "DEFAULT_UI_ORIGINS",
    "DEFAULT_UI_PORT",
    "DEMO_DIRECTORY",
    "MAX_PATH",
    "MAX_UPLOAD_BOUND",
    "MAX_UPLOAD_BYTES",
    "Environment",
    "RelayFields",
    "Settings",
    "SettingsRefused",
    "environment",
    "package_version",
    "parse_size",
    "refusal",
    "variables",
    "web_ui_origins",
]


class SettingsRefused(CaseworkError, ValueError):
    """A `CASEWORK_*` variable has a value casework cannot use; the message names each one
    and what to write instead."""


def environment(env: Mapping[str, str] | None = None) -> Environment:
    """The `CASEWORK_*` variables of `env` (default: this process's environment), validated;
    SettingsRefused naming every wrong one and what to write."""
    if env is None:
        return _read(tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith(PREFIX))))
    try:
        return Environment.model_validate({k: v for k, v in env.items() if k.startswith(PREFIX)})
    except ValidationError as e:
        raise SettingsRefused(refusal(e)) from None


@lru_cache(maxsize=8)
def _read(key: tuple[tuple[str, str], ...]) -> Environment:
    """pydantic-settings reads the process's environment; `key` is what it holds of ours, so
    a changed variable (a test's monkeypatch) is read again."""
    try:
        return Environment()
    except ValidationError as e:
        raise SettingsRefused(refusal(e)) from None


def variables() -> Iterable[tuple[str, Any]]:
    """(variable name, field) of every `CASEWORK_*` variable: the engine's first, the relay's
    last (docs/configuration.md's order)."""
    own = [n for n in Environment.model_fields if n not in RelayFields.model_fields]
    for name in [*own, *RelayFields.model_fields]:
        field = Environment.model_fields[name]
        yield str(field.validation_alias), field


def refusal(error: ValidationError) -> str:
    """One line per wrong variable: `<NAME> must be <what to write>, not <value>`."""
    fields = dict(variables())
    lines = []
    for problem in error.errors():
        name = str(problem["loc"][0]) if problem["loc"] else ""
        field = fields.get(name)
        if field is None:
            lines.append(str(problem["msg"]).removeprefix("Value error, "))
            continue
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        shown = "what it is set to" if extra.get("secret") else repr(problem["input"])
        line = f"{name} must be {extra.get('write')}, not {shown}"
        if line not in lines:
            lines.append(line)
    return "casework's environment is wrong (fix or unset each variable):\n- " + "\n- ".join(lines)


def package_version() -> str:
    """The installed casework package's version (pyproject's `version`): the default build id
    of a worker (issue 28). An editable install reads it as installed: reinstall
    (`pip install -e .`) after changing pyproject's version, or set CASEWORK_BUILD_ID."""
    try:
        return metadata.version("casework")
    except metadata.PackageNotFoundError:  # pragma: no cover - casework runs installed
        raise SettingsRefused(
            "the casework package is not installed, so it has no version to run as: install it "
            "(pip install -e .) or set CASEWORK_BUILD_ID"
        ) from None


@dataclass(frozen=True)
class Settings:
    state_dir: Path
    db_url: str
    directory_file: Path | None
    policy_file: Path | None
    task_queue: str
    deployment_name: str = DEFAULT_DEPLOYMENT_NAME
    """The Worker Deployment of this engine's workers (CASEWORK_DEPLOYMENT_NAME, issue 28)."""
    build_id: str = ""
    """This process's version in it (CASEWORK_BUILD_ID, else the package's version)."""
    worker_versioning: bool = True
    """Whether a worker of this process registers its deployment version
    (CASEWORK_WORKER_VERSIONING); tests building workers in-process say so themselves."""

    @classmethod
    def from_env(
        cls,
        *,
        state_dir: str | Path | None = None,
        db_url: str | None = None,
        directory_file: str | Path | None = None,
        policy_file: str | Path | None = None,
        task_queue: str | None = None,
    ) -> Settings:
        """Flags win over environment variables, which win over defaults."""
        env = environment()
        state = Path(state_dir or env.state_dir or ".state").absolute()
        directory = directory_file or env.directory
        policy = policy_file or env.policy
        return cls(
            state_dir=state,
            db_url=db_url or env.db_url or f"sqlite:///{state / 'casework.db'}",
            directory_file=Path(directory) if directory else None,
            policy_file=Path(policy) if policy else None,
            task_queue=task_queue or env.task_queue,
            deployment_name=env.deployment_name,
            build_id=env.build_id or package_version(),
            worker_versioning=env.worker_versioning == "on",
        )

    def ensure_state_dir(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
