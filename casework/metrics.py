"""Prometheus metrics of a worker: the SDK's own and casework's.

**The SDK's** (workflow and activity task latencies, slots, polls, ...) come from the Temporal
runtime's telemetry: `runtime_with_metrics(address)` makes a `Runtime` whose Prometheus
exporter listens on `address`; a client connected with that runtime, and every worker built on
the client, report there.

**Casework's** are computed from the store when scraped (`StoreCollector`), served by
`prometheus_client` on a port of their own (`serve_casework_metrics`). Why from the store, and
not counters bumped as things happen:

- every fact is already there, written once under an idempotency key: a retried activity or
  a replayed workflow never counts twice (a counter in workflow code would count again on
  every replay; one in an activity on every retry);
- the store is the deployment's, shared by all its workers: any worker answers with the same
  deployment-wide numbers, whichever of them handled the case, and nothing is lost when a
  worker is killed or restarted (a process's counters would start from zero).

So every worker reports the same casework_* series: aggregate them across workers with
`max`, not `sum` (or scrape casework_* from one worker). The SDK's series are per process:
`sum` those. A scrape runs a few grouped COUNT queries over indexed tables (about 10 ms for
thousands of cases on SQLite); the collector bounds each scrape to one snapshot.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector, CollectorRegistry
from sqlalchemy import and_, case, exists, false, func, literal, select

from casework.notify.contracts import LANES
from casework.store.base import aware, utc
from casework.store.tables import (
    assignments,
    case_facts,
    deliveries,
    engineers,
    escalations,
    feed,
    outbox,
)

if TYPE_CHECKING:
    from temporalio.runtime import Runtime

    from casework.store import Store

FIRST_RESPONSE_BUCKETS = (60.0, 300.0, 900.0, 1800.0, 3600.0, 7200.0, 14400.0, 28800.0, 86400.0)
"""Seconds: 1, 5, 15, 30 minutes, 1, 2, 4, 8 hours, a day; the S1 targets fall on them."""
METRICS_HOST = "127.0.0.1"


class MetricsRefused(Exception):
    """The metrics cannot be served as asked; says why and what to do."""


def check_ports(host: str, port: int, *, pair: bool = True) -> None:
    """Both metrics ports (casework's `port`, the SDK's `port + 1`) free on `host`, or
    MetricsRefused naming the one taken. `pair=False`: only `port` (the health port)."""
    import socket

    wanted = [("casework's", port), ("the Temporal SDK's", port + 1)] if pair else []
    if not pair:
        wanted = [("health", port)]
    for which, candidate in wanted:
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, candidate))
            except OSError as e:
                flag = "--metrics-port (casework's metrics use it, the SDK's the next)"
                raise MetricsRefused(
                    f"cannot serve {which} {'metrics' if pair else 'checks'} on "
                    f"{host}:{candidate} ({e.strerror}): choose another "
                    + (flag if pair else "--health-port")
                ) from None


def runtime_with_metrics(bind_address: str | None) -> Runtime:
    """A Temporal runtime exporting the SDK's metrics for Prometheus on `bind_address`
    (host:port; None: no metrics), its core's log lines forwarded to Python's logging (so they
    are JSON lines too, casework.observability). One runtime per process may bind the
    address."""
    import logging

    from temporalio.runtime import (
        LogForwardingConfig,
        LoggingConfig,
        PrometheusConfig,
        Runtime,
        TelemetryConfig,
        TelemetryFilter,
    )

    return Runtime(
        telemetry=TelemetryConfig(
            logging=LoggingConfig(
                filter=TelemetryFilter(core_level="WARN", other_level="ERROR"),
                forwarding=LogForwardingConfig(logger=logging.getLogger("temporalio.core")),
            ),
            metrics=PrometheusConfig(bind_address=bind_address) if bind_address else None,
        )
    )


class StoreCollector(Collector):
    """casework_* metrics, read from the store at each scrape (module docstring)."""

    def __init__(self, store: Store, now: Any = None) -> None:
        self.store = store
        self.now = now or (lambda: datetime.now(UTC))

    def describe(self) -> list[Metric]:
        return []  # computed at scrape: nothing to describe ahead of it

    def collect(self) -> Iterator[Metric]:
        with self.store.engine.connect() as conn:
            yield from self._cases(conn)
            yield from self._open_cases(conn)
            yield from self._first_responses(conn)
            yield from self._escalations(conn)
            yield from self._notifications(conn)

    def _cases(self, conn: Any) -> Iterator[Metric]:
        opened = CounterMetricFamily(
            "casework_cases_opened",
            "Cases opened, by account tier and (current) priority.",
            labels=["tier", "priority"],
        )
        for tier, priority, n in conn.execute(
            select(case_facts.c.tier, case_facts.c.priority, func.count()).group_by(
                case_facts.c.tier, case_facts.c.priority
            )
        ):
            opened.add_metric([tier, priority], n)
        yield opened
        closed = CounterMetricFamily(
            "casework_cases_closed",
            "Cases closed (a reopened case closed again counts again), by tier and priority.",
            labels=["tier", "priority"],
        )
        for tier, priority, n in conn.execute(
            select(case_facts.c.tier, case_facts.c.priority, func.count())
            .select_from(feed.join(case_facts, case_facts.c.case_id == feed.c.case_id))
            .where(feed.c.kind == "close", feed.c.refused == false())  # the close action
            .group_by(case_facts.c.tier, case_facts.c.priority)
        ):
            closed.add_metric([tier, priority], n)
        yield closed

    def _open_cases(self, conn: Any) -> Iterator[Metric]:
        """Cases with an owner now (an assignment not released), by the owner's queue and
        level: `usc` for the restricted queue's engineers, `partner:<id>` for a partner's,
        `gsc` (L0-L2) or `gec` (L3) for ours."""
        queue = case(
            (engineers.c.restricted_queue_only == literal(True), literal("usc")),
            (engineers.c.partner.is_not(None), literal("partner:") + engineers.c.partner),
            (assignments.c.level == literal("L3"), literal("gec")),
            else_=literal("gsc"),
        ).label("queue")
        gauge = GaugeMetricFamily(
            "casework_open_cases",
            "Cases assigned now (not released), by queue and level.",
            labels=["queue", "level"],
        )
        rows = conn.execute(
            select(queue, assignments.c.level, func.count(func.distinct(assignments.c.case_id)))
            .select_from(
                assignments.outerjoin(engineers, engineers.c.id == assignments.c.engineer_id)
            )
            .where(assignments.c.released_at.is_(None))
            .group_by(queue, assignments.c.level)
        )
        for q, level, n in rows:
            gauge.add_metric([q, level], n)
        yield gauge

    def _first_responses(self, conn: Any) -> Iterator[Metric]:
        """S1/S2: first responses within and past their target, and how long they took."""
        responded = case_facts.c.responded_at.is_not(None)
        counts = CounterMetricFamily(
            "casework_first_responses",
            "First responses, within or past the case's target (S1), by tier and priority.",
            labels=["tier", "priority", "within_target"],
        )
        late: dict[tuple[str, str, str], int] = {}
        rows = conn.execute(
            select(
                case_facts.c.tier,
                case_facts.c.priority,
                case_facts.c.opened_at,
                case_facts.c.due_at,
                case_facts.c.responded_at,
            ).where(responded)
        ).mappings()
        waits: list[float] = []
        for row in rows:
            r = aware(dict(row))
            within = "true" if r["responded_at"] <= r["due_at"] else "false"
            key = (r["tier"], r["priority"], within)
            late[key] = late.get(key, 0) + 1
            waits.append((r["responded_at"] - r["opened_at"]).total_seconds())
        for key, n in sorted(late.items()):
            counts.add_metric(list(key), n)
        yield counts
        histogram = HistogramMetricFamily(
            "casework_time_to_first_response_seconds",
            "Seconds from a case's opening to its first response.",
        )
        buckets = [(f"{b:g}", sum(1 for w in waits if w <= b)) for b in FIRST_RESPONSE_BUCKETS] + [
            ("+Inf", len(waits))
        ]
        histogram.add_metric([], buckets, sum_value=sum(waits))
        yield histogram
        breached = GaugeMetricFamily(
            "casework_cases_awaiting_first_response_past_target",
            "Open cases with no first response whose target has passed (breached, S3).",
        )
        breached.add_metric(
            [],
            conn.execute(
                select(func.count()).where(
                    and_(
                        case_facts.c.responded_at.is_(None),
                        case_facts.c.breached_at.is_not(None),
                        case_facts.c.case_id.not_in(_closed_cases()),  # issue 27: still waiting
                    )
                )
            ).scalar_one(),
        )
        yield breached

    def _escalations(self, conn: Any) -> Iterator[Metric]:
        """E3: escalations raised (by how), acknowledged by an Escalation Manager, and passed
        on to the next of the ladder when nobody acknowledged in time."""
        raised = CounterMetricFamily(
            "casework_escalations_raised",
            "Escalations raised, by channel (online, phone, sla_breach).",
            labels=["channel"],
        )
        for channel, n in conn.execute(
            select(escalations.c.channel, func.count()).group_by(escalations.c.channel)
        ):
            raised.add_metric([channel], n)
        yield raised
        acknowledged = CounterMetricFamily(
            "casework_escalations_acknowledged", "Escalations an Escalation Manager acknowledged."
        )
        acknowledged.add_metric(
            [],
            conn.execute(
                select(func.count()).where(escalations.c.acknowledged_at.is_not(None))
            ).scalar_one(),
        )
        yield acknowledged
        passed_on = CounterMetricFamily(
            "casework_escalations_passed_on",
            "Times an unacknowledged escalation was passed on to the next of the ladder.",
        )
        passed_on.add_metric(
            [],
            conn.execute(
                select(func.count()).where(feed.c.kind == "escalation_passed_on")
            ).scalar_one(),
        )
        yield passed_on

    def _notifications(self, conn: Any) -> Iterator[Metric]:
        """The outbox: waiting to be sent, and given up on. With a relay (the outbox's
        `status`: pending, delivered, dead), by that; without one, every row waits for the
        relay outside the engine, and none is known to have failed."""
        status = getattr(outbox.c, "status", None)
        pending = GaugeMetricFamily(
            "casework_notifications_pending", "Notifications in the outbox not yet delivered."
        )
        failed = GaugeMetricFamily(
            "casework_notifications_failed",
            "Notifications given up on after their attempts (dead letters).",
        )
        if status is None:
            pending.add_metric([], conn.execute(select(func.count()).select_from(outbox)).scalar())
            failed.add_metric([], 0)
        else:
            by_status = dict(
                conn.execute(select(status, func.count()).group_by(status)).all()  # type: ignore[call-overload]
            )
            pending.add_metric([], by_status.get("pending", 0))
            failed.add_metric([], by_status.get("dead", 0))
        yield pending
        yield failed
        yield from self._lanes(conn)

    def _lanes(self, conn: Any) -> Iterator[Metric]:
        """Issue 27: each relay lane (channel) how far behind it is and what it holds. A
        delivery is due from its next retry time, or from its row's queueing when it has none;
        a row no lane has taken yet counts under lane `unplanned`. Lag: the age of the oldest
        delivery due now and not sent (0: the lane is keeping up)."""
        now = self.now()
        lag = GaugeMetricFamily(
            "casework_relay_lag_seconds",
            "Seconds the oldest due, unsent notification of each relay lane has waited.",
            labels=["lane"],
        )
        pending = GaugeMetricFamily(
            "casework_deliveries_pending",
            "Deliveries not yet made (due or waiting for a retry), by lane (channel).",
            labels=["lane"],
        )
        dead = GaugeMetricFamily(
            "casework_deliveries_dead",
            "Deliveries given up on (their rows are dead letters), by lane (channel).",
            labels=["lane"],
        )
        due_from = func.coalesce(deliveries.c.next_attempt_at, outbox.c.created_at)
        oldest: dict[str, datetime] = {}
        counts: dict[tuple[str, str], int] = {}
        joined = deliveries.join(outbox, outbox.c.id == deliveries.c.outbox_id)
        for lane, status, n in conn.execute(
            select(deliveries.c.channel, deliveries.c.status, func.count())
            .select_from(joined)
            .where(deliveries.c.status.in_(("pending", "dead")))
            .group_by(deliveries.c.channel, deliveries.c.status)
        ):
            counts[(lane, status)] = n
        for lane, first in conn.execute(
            select(deliveries.c.channel, func.min(due_from))
            .select_from(joined)
            .where(deliveries.c.status == "pending", outbox.c.status == "pending")
            .where(due_from <= utc(now))
            .group_by(deliveries.c.channel)
        ):
            oldest[lane] = aware({"at": first})["at"]
        unplanned = conn.execute(
            select(func.min(func.coalesce(outbox.c.next_attempt_at, outbox.c.created_at))).where(
                outbox.c.status == "pending",
                ~exists().where(deliveries.c.outbox_id == outbox.c.id),
                func.coalesce(outbox.c.next_attempt_at, outbox.c.created_at) <= utc(now),
            )
        ).scalar()
        if unplanned is not None:
            oldest["unplanned"] = aware({"at": unplanned})["at"]
        for lane in (*LANES, "unplanned"):
            first = oldest.get(lane)
            lag.add_metric([lane], max(0.0, (now - first).total_seconds()) if first else 0.0)
        for lane in LANES:
            pending.add_metric([lane], counts.get((lane, "pending"), 0))
            dead.add_metric([lane], counts.get((lane, "dead"), 0))
        yield lag
        yield pending
        yield dead


def _closed_cases() -> Any:
    """The cases closed (E4): their close is on the feed, and a closed case stays closed."""
    return select(feed.c.case_id).where(feed.c.kind == "close", feed.c.refused == false())


def casework_registry(store: Store) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StoreCollector(store))
    return registry


def serve_casework_metrics(store: Store, port: int, host: str = METRICS_HOST) -> Any:
    """Serve casework's metrics on http://host:port/metrics (a thread of this process);
    returns the server (`.shutdown()` stops it). Port 0: a free one (`.server_port`)."""
    from prometheus_client import start_http_server

    server, _thread = start_http_server(port, addr=host, registry=casework_registry(store))
    return server


def serve_worker_metrics(store: Store, port: int | None, host: str = METRICS_HOST) -> Runtime:
    """A worker's Temporal runtime and its metrics: with `port`, casework's served on it (read
    from `store`) and the SDK's on the next, both said in the log; without, neither."""
    import logging

    runtime = runtime_with_metrics(f"{host}:{port + 1}" if port is not None else None)
    if port is not None:
        serve_casework_metrics(store, port, host)
        logging.info(
            "metrics on http://%s:%d/metrics (casework) and http://%s:%d/metrics (Temporal SDK)",
            host,
            port,
            host,
            port + 1,
        )
    return runtime
