"""One settings object for every CASEWORK_* variable (issue 25): its bounds, its refusals at a
process's start, its generated table, and nothing else reading the environment for them."""

from __future__ import annotations

import ast
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from casework.settings import Settings, SettingsRefused, environment, variables

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = [
    ROOT / "worker.py",
    *(p for d in ("casework", "activities", "workflows") for p in (ROOT / d).rglob("*.py")),
]
SETTINGS = ROOT / "casework" / "settings"


def _constants(tree: ast.Module) -> dict[str, str]:
    found = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
            for target in node.targets:
                if isinstance(target, ast.Name) and isinstance(node.value.value, str):
                    found[target.id] = node.value.value
    return found


def environment_reads(source: str) -> list[int]:
    """Lines that read a CASEWORK_* variable other than through casework.settings: os.environ
    or os.getenv with such a name (written out, a module constant, or an f-string), or a typer
    option's `envvar`."""
    tree = ast.parse(source)
    constants = _constants(tree)

    def ours(node: ast.AST) -> bool:
        if isinstance(node, ast.Name):
            return constants.get(node.id, "").startswith("CASEWORK_")
        return any(
            isinstance(n, ast.Constant)
            and isinstance(n.value, str)
            and n.value.startswith("CASEWORK_")
            for n in ast.walk(node)
        )

    lines = []
    for node in ast.walk(tree):
        text = ast.unparse(node) if isinstance(node, ast.Call | ast.Subscript) else ""
        reads_env = "environ" in text.split("(")[0] or "getenv" in text.split("(")[0]
        if isinstance(node, ast.Call) and reads_env and any(ours(a) for a in node.args):
            lines.append(node.lineno)
        elif isinstance(node, ast.Subscript) and "environ" in ast.unparse(node.value):
            if ours(node.slice):
                lines.append(node.lineno)
        elif isinstance(node, ast.keyword) and node.arg == "envvar" and ours(node.value):
            lines.append(node.value.lineno)
    return lines


def test_nothing_but_the_settings_object_reads_casework_variables() -> None:
    readers = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in SHIPPED
        if SETTINGS not in path.parents
        for line in environment_reads(path.read_text(encoding="utf-8"))
    ]
    assert readers == [], "read casework.settings.environment() instead"


@pytest.mark.parametrize(
    "source",
    [
        'import os\nos.environ.get("CASEWORK_X")\n',
        'import os\nos.environ["CASEWORK_X"]\n',
        'import os\nNAME = "CASEWORK_X"\nos.environ.get(NAME, "")\n',
        'import os\nos.getenv(f"CASEWORK_{lane}_X")\n',
        'import typer\ntyper.Option(envvar="CASEWORK_X")\n',
    ],
)
def test_the_reader_finder_finds_each_way_of_reading(source: str) -> None:
    assert environment_reads(source) != []
    assert environment_reads('import os\nos.environ.get("TEMPORAL_ADDRESS")\n') == []


def test_every_variable_says_its_type_default_bound_and_what_it_means() -> None:
    found = list(variables())
    names = [name for name, _ in found]
    assert len(names) == len(set(names)) >= 41
    for name, field in found:
        assert name.startswith("CASEWORK_"), name
        assert field.description and field.json_schema_extra["write"], name
        assert field.annotation is not None
        kind = str(field.annotation)
        bounded = field.metadata or "Literal" in kind or "Path" in kind
        assert bounded, f"{name} has no bound"


def test_every_relay_lane_has_its_two_variables() -> None:
    from casework.notify.contracts import LANES

    names = {name for name, _ in variables()}
    for lane in LANES:
        assert {
            f"CASEWORK_RELAY_{lane.upper()}_CONCURRENCY",
            f"CASEWORK_RELAY_{lane.upper()}_TIMEOUT",
        } <= names


def test_a_bad_value_names_the_variable_and_what_to_write() -> None:
    with pytest.raises(SettingsRefused) as refused:
        environment(
            {
                "CASEWORK_SMTP_PORT": "smtp",
                "CASEWORK_MAX_UPLOAD": "lots",
                "CASEWORK_TASK_QUEUE": "two words",
                "CASEWORK_LOG_LEVEL": "loud",
            }
        )
    said = str(refused.value)
    assert "CASEWORK_SMTP_PORT must be a TCP port from 1 to 65535, like 587, not 'smtp'" in said
    assert "CASEWORK_MAX_UPLOAD must be a size from 1 byte to 64GB" in said
    assert "CASEWORK_TASK_QUEUE must be a task queue name without spaces" in said
    assert "CASEWORK_LOG_LEVEL must be debug, info, warning or error, not 'loud'" in said


def test_a_secret_is_never_shown_in_a_refusal_or_a_repr() -> None:
    secret = "hunter2-" + "x" * 600
    with pytest.raises(SettingsRefused) as refused:
        environment({"CASEWORK_SMTP_PASSWORD": secret})
    assert "CASEWORK_SMTP_PASSWORD must be" in str(refused.value)
    assert "hunter2" not in str(refused.value)
    told = environment({"CASEWORK_SMTP_PASSWORD": "hunter2", "CASEWORK_API_KEY": "cw_k"})
    assert "hunter2" not in repr(told) and "cw_k" not in repr(told)
    assert told.smtp_password == "hunter2"


def test_half_an_oidc_provider_is_refused() -> None:
    with pytest.raises(SettingsRefused, match="set CASEWORK_OIDC_JWKS_URL too"):
        environment({"CASEWORK_OIDC_ISSUER": "https://id/", "CASEWORK_OIDC_AUDIENCE": "x"})


def test_values_as_people_write_them() -> None:
    told = environment(
        {
            "CASEWORK_OPERATORS": " em-jon , em-ines,",
            "CASEWORK_CODEC_CORS_ORIGINS": "https://ui.example.com/",
            "CASEWORK_MAX_UPLOAD": "4kb",
            "CASEWORK_LOG_FORMAT": " JSON ",
            "CASEWORK_TASK_QUEUE": "   ",  # only spaces: unset
            "CASEWORK_SMTP_PASSWORD": " spaced ",  # a password keeps its spaces
            "OTHER": "ignored",
        }
    )
    assert told.operators == ("em-jon", "em-ines")
    assert told.codec_cors_origins == ("https://ui.example.com",)
    assert told.max_upload == 4096
    assert told.log_format == "json"
    assert told.task_queue == "casework" and told.given("task_queue") is None
    assert told.smtp_password == " spaced "


def test_flags_win_over_the_environment_which_wins_over_defaults(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CASEWORK_STATE_DIR", str(tmp_path / "from-env"))
    monkeypatch.setenv("CASEWORK_TASK_QUEUE", "env-queue")
    monkeypatch.delenv("CASEWORK_DB_URL", raising=False)
    from_env = Settings.from_env()
    assert from_env.state_dir == tmp_path / "from-env"
    assert from_env.task_queue == "env-queue"
    assert from_env.db_url == f"sqlite:///{tmp_path / 'from-env' / 'casework.db'}"
    flagged = Settings.from_env(state_dir=tmp_path / "flag", task_queue="flag-queue")
    assert (flagged.state_dir, flagged.task_queue) == (tmp_path / "flag", "flag-queue")
    monkeypatch.setenv("CASEWORK_TASK_QUEUE", "changed")  # read again when it changes
    assert Settings.from_env().task_queue == "changed"


def test_the_cli_refuses_a_bad_value_at_its_start_and_makes_nothing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from casework.cli import app

    state = tmp_path / "state"
    monkeypatch.setenv("CASEWORK_RELAY_MAX_ATTEMPTS", "0")
    monkeypatch.setenv("CASEWORK_METRICS_PORT", "99999")
    result = CliRunner().invoke(app, ["--state-dir", str(state), "keys", "list"])
    assert result.exit_code == 2, result.output
    assert "CASEWORK_RELAY_MAX_ATTEMPTS must be a whole number from 1 to 100, not '0'" in (
        result.output
    )
    assert "CASEWORK_METRICS_PORT must be a TCP port from 1 to 65534, not '99999'" in result.output
    assert not state.exists()


def test_the_worker_refuses_a_bad_value_before_it_starts(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CASEWORK_", "TEMPORAL_"))}
    env.update(CASEWORK_STATE_DIR=str(tmp_path / "state"), CASEWORK_SMTP_TLS="yes")
    done = subprocess.run(
        [sys.executable, str(ROOT / "worker.py")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "CASEWORK_SMTP_TLS must be none, starttls or tls, not 'yes'" in done.stderr
    assert not (tmp_path / "state").exists()


def test_docs_configuration_md_is_the_settings_objects_table() -> None:
    spec = importlib.util.spec_from_file_location(
        "configuration_table", ROOT / "scripts" / "configuration_table.py"
    )
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    wanted = script.table()
    assert (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8") == wanted, (
        "docs/configuration.md is out of date: run python scripts/configuration_table.py"
    )
    for name, _ in variables():
        assert f"`{name}`" in wanted


def test_the_worker_version_comes_from_the_environment_or_the_package(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Issue 28: a worker's deployment version; the build id defaults to the package's
    version, a bad name or id is refused saying what to write, versioning is on unless told."""
    from importlib import metadata

    for name in ("CASEWORK_DEPLOYMENT_NAME", "CASEWORK_BUILD_ID", "CASEWORK_WORKER_VERSIONING"):
        monkeypatch.delenv(name, raising=False)
    default = Settings.from_env()
    assert (default.deployment_name, default.build_id) == ("casework", metadata.version("casework"))
    assert default.worker_versioning is True
    monkeypatch.setenv("CASEWORK_DEPLOYMENT_NAME", "support-eu")
    monkeypatch.setenv("CASEWORK_BUILD_ID", "0.3.0rc1")
    monkeypatch.setenv("CASEWORK_WORKER_VERSIONING", " Off ")
    told = Settings.from_env()
    assert (told.deployment_name, told.build_id, told.worker_versioning) == (
        "support-eu",
        "0.3.0rc1",
        False,
    )
    with pytest.raises(SettingsRefused) as refused:
        environment(
            {
                "CASEWORK_DEPLOYMENT_NAME": "casework.eu",
                "CASEWORK_BUILD_ID": "casework:0.2.0",
                "CASEWORK_WORKER_VERSIONING": "maybe",
            }
        )
    said = str(refused.value)
    assert "CASEWORK_DEPLOYMENT_NAME must be letters, digits, _ and - (no . or :)" in said
    assert "CASEWORK_BUILD_ID must be letters, digits and . _ + - (no :)" in said
    assert "CASEWORK_WORKER_VERSIONING must be on or off" in said
    with pytest.raises(SettingsRefused, match="CASEWORK_BUILD_ID"):
        environment({"CASEWORK_BUILD_ID": "9" * 101})
