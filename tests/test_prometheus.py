"""The alerting rules and the dashboard (issue 27), checked with Debian's Prometheus: `promtool
check rules` and `promtool test rules` (each alert fires on what it is about, once across
workers that report the same numbers), and a real Prometheus scraping `casework up` with the
rules loaded: both targets up, every rule healthy, every dashboard query answered, a case
opened counted. CI installs the `prometheus` package; without it these tests are skipped,
saying so."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.test_up import Engine, engines, free_port, free_port_pair  # noqa: F401 (a fixture)
from tests.waiting import eventually_sync

pytestmark = pytest.mark.timeout(240)
ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "ops" / "prometheus" / "casework-alerts.yml"
RULE_TESTS = ROOT / "ops" / "prometheus" / "casework-alerts.test.yml"
DASHBOARD = ROOT / "ops" / "grafana" / "casework-dashboard.json"
WAIT = 90.0
STARTING = (httpx.HTTPError, ValueError)
"""What Prometheus answers while it starts: no connection, or a 503 whose body is not JSON."""


def tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        pytest.skip(
            f"Debian's Prometheus is not installed ({name} not found): apt-get install -y "
            "prometheus (CI installs it, .ci/run)"
        )
    return found


def test_promtool_checks_the_rules() -> None:
    checked = subprocess.run(
        [tool("promtool"), "check", "rules", str(RULES)], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS" in checked.stdout


def test_each_alert_fires_on_what_it_is_about_and_only_then() -> None:
    tested = subprocess.run(
        [tool("promtool"), "test", "rules", RULE_TESTS.name],
        capture_output=True,
        text=True,
        cwd=RULE_TESTS.parent,
    )
    assert tested.returncode == 0, tested.stdout + tested.stderr


SERIES = re.compile(r"\b(?:casework|temporal)_[a-z_]+\b")
ONLY_AFTER_A_FAILURE = {"temporal_workflow_task_execution_failed"}
"""The SDK exports a counter once it counts something: this one only after a task failed."""


def casework_series() -> set[str]:
    """Every series name casework's collector exports (on an empty database: every family)."""
    from casework.metrics import StoreCollector
    from casework.store import Store

    with tempfile.TemporaryDirectory() as tmp:
        store = Store(f"sqlite:///{tmp}/casework.db")
        try:
            families = list(StoreCollector(store).collect())
        finally:
            store.dispose()
    names = set()
    for family in families:
        names.add(family.name)
        suffixes = {
            "counter": ("_total",),
            "histogram": ("_bucket", "_count", "_sum"),
        }.get(family.type, ())
        names |= {family.name + suffix for suffix in suffixes}
    return names


def dashboard_queries() -> list[str]:
    board = json.loads(DASHBOARD.read_text())
    return [t["expr"] for p in board["panels"] for t in p.get("targets", [])]


@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator[Any]:
    """Start Debian's Prometheus on a config the test writes (scrape every second)."""
    binary = tool("prometheus")
    started: list[subprocess.Popen[bytes]] = []

    def start(casework_port: int) -> str:
        port = free_port()
        config = tmp_path / "prometheus.yml"
        jobs = {"casework": casework_port, "casework-sdk": casework_port + 1}
        config.write_text(
            json.dumps(  # JSON is YAML
                {
                    "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                    "rule_files": [str(RULES)],
                    "scrape_configs": [
                        {"job_name": job, "static_configs": [{"targets": [f"127.0.0.1:{port}"]}]}
                        for job, port in jobs.items()
                    ],
                }
            )
        )
        log = (tmp_path / "prometheus.log").open("wb")
        started.append(
            subprocess.Popen(
                [binary, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}"]
                + [f"--web.listen-address=127.0.0.1:{port}"],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        )
        return f"http://127.0.0.1:{port}"

    yield start
    for process in started:
        process.terminate()
        process.wait(30)


def query(base: str, expr: str) -> dict[str, Any]:
    answer = httpx.get(f"{base}/api/v1/query", params={"query": expr}, timeout=10).json()
    assert answer["status"] == "success", (expr, answer)
    return answer["data"]  # type: ignore[no-any-return]


def test_a_real_prometheus_scrapes_casework_up_with_the_rules_loaded(
    tmp_path: Path,
    engines: list[Engine],  # noqa: F811
    prometheus: Any,
) -> None:
    metrics_port = free_port_pair()
    engine = Engine(
        tmp_path / "state", free_port(), free_port(), "--metrics-port", str(metrics_port)
    )
    engines.append(engine)
    engine.wait_for("Ctrl+C")
    base = prometheus(metrics_port)

    def targets_up() -> bool:
        found = httpx.get(f"{base}/api/v1/targets", timeout=10).json()["data"]["activeTargets"]
        return len(found) == 2 and all(t["health"] == "up" for t in found)

    eventually_sync(
        targets_up,
        WAIT,
        every=0.5,
        what="both targets (casework, casework-sdk) up",
        ignoring=STARTING,
    )
    opened = engine.casework(
        *("--profile", "acme-alice", "open", "--product", "FortiGate", "--version", "7.4.3"),
        *("--priority", "P3", "--description", "Prometheus sees this one"),
    )
    assert opened.returncode == 0, opened.stderr

    def counted() -> bool:
        result = query(base, "sum(casework_cases_opened_total)")["result"]
        return bool(result) and float(result[0]["value"][1]) == 1

    eventually_sync(
        counted, WAIT, every=0.5, what="Prometheus to count the case opened", ignoring=STARTING
    )

    def rules_evaluated() -> list[dict[str, Any]]:
        groups = httpx.get(f"{base}/api/v1/rules", timeout=10).json()["data"]["groups"]
        rules = [r for g in groups for r in g["rules"]]
        return (
            rules
            if rules and all(r.get("lastEvaluation", "").startswith("20") for r in rules)
            else []
        )

    rules = eventually_sync(
        rules_evaluated, WAIT, every=0.5, what="every rule evaluated", ignoring=STARTING
    )
    assert len(rules) == 12 and all(r["health"] == "ok" for r in rules), rules
    firing = {r["name"] for r in rules if r.get("state") == "firing"}
    assert firing == set(), f"alerts firing on a healthy engine: {firing}"
    for expr in dashboard_queries():
        query(base, expr)  # every panel's query parses and runs
    scraped = set(httpx.get(f"{base}/api/v1/label/__name__/values", timeout=10).json()["data"])
    used = {m for expr in dashboard_queries() for m in SERIES.findall(expr)}
    exported = casework_series() | {n for n in scraped if n.startswith("temporal_")}
    missing = used - exported - ONLY_AFTER_A_FAILURE
    assert not missing, f"the dashboard queries series nobody exports: {missing}"
    assert engine.stop() == 0
