"""Traces and structured logs of casework's processes (the worker, `casework up`, the CLI).

**Traces** (OpenTelemetry), off by default. On when OTEL_EXPORTER_OTLP_ENDPOINT (or
OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set, the standard variables of the OTLP exporter (over
HTTP/protobuf: the endpoint is e.g. http://collector:4318); OTEL_SERVICE_NAME names the
process (default `casework-worker`, `casework-door`, ...). The SDK's `TracingInterceptor` on
the client carries the trace through Temporal: the open call starts the Intake workflow, whose
`start_case` activity starts the case workflow, whose activities run under it, so one trace
follows a case from the door's open call to its last activity. A worker built on a client with
the interceptor traces its workflows and activities too (the SDK hands client interceptors that
are also worker interceptors to the worker).

**Logs**: one record per line, as JSON when stderr is not a terminal (a service's logs, for a
collector) and as human lines on a terminal; CASEWORK_LOG_FORMAT=json|text forces one, and
CASEWORK_LOG_LEVEL sets the level (casework.settings). Every line carries `case_id`,
`workflow` and `activity` (null when the line is not about one): the SDK puts the workflow's
or activity's details on the records of `workflow.logger` and `activity.logger`, and a record
logged by any logger inside an activity gets the activity's.
U5: no line carries a case's content: the fields are ids and types, and casework logs no case
text (descriptions, comments, resolutions); the SDK's own lines carry none either.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from typing import TYPE_CHECKING, Any

from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
)

from casework.settings import environment

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from temporalio.contrib.opentelemetry import TracingInterceptor

OTLP_VARIABLES = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s%(where)s: %(message)s"
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S%z"
"""ISO 8601 with the offset (local time, as the machine's clock is set)."""
JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(message)s"


# --- traces -----------------------------------------------------------------------------------


def tracing_configured() -> bool:
    return any(os.environ.get(v) for v in OTLP_VARIABLES)


def otlp_provider(service: str) -> TracerProvider:
    """A tracer provider exporting over OTLP (HTTP) as the OTEL_* variables say."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    name = os.environ.get("OTEL_SERVICE_NAME") or service
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: name}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return provider


def tracing_interceptors(service: str) -> list[TracingInterceptor]:
    """[the SDK's TracingInterceptor] when tracing is configured (module docstring), else []."""
    if not tracing_configured():
        return []
    from opentelemetry import trace
    from temporalio.contrib.opentelemetry import TracingInterceptor

    provider = otlp_provider(service)
    trace.set_tracer_provider(provider)  # the process's: flushed at exit
    # a workflow started without a trace (the `temporal` CLI, an untraced door) gets one
    return [TracingInterceptor(provider.get_tracer("casework"), always_create_workflow_spans=True)]


# --- logs -------------------------------------------------------------------------------------


class CaseContext(logging.Filter):
    """Puts case_id, workflow and activity on every record (None when not about one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        workflow = getattr(record, "temporal_workflow", None) or {}
        activity = getattr(record, "temporal_activity", None) or {}
        if not activity:
            activity = _current_activity()
        fields = {
            "case_id": activity.get("workflow_id") or workflow.get("workflow_id"),
            "workflow": activity.get("workflow_type") or workflow.get("workflow_type"),
            "activity": activity.get("activity_type"),
        }
        record.__dict__.update(fields)
        parts = [f"{k}={v}" for k, v in fields.items() if v]
        record.where = f" [{' '.join(parts)}]" if parts else ""
        return True


def _current_activity() -> dict[str, Any]:
    from temporalio import activity

    if not activity.in_activity():
        return {}
    info = activity.info()
    return {
        "workflow_id": info.workflow_id,
        "workflow_type": info.workflow_type,
        "activity_type": info.activity_type,
    }


def wants_json(stream: Any = None) -> bool:
    """CASEWORK_LOG_FORMAT says (casework.settings); unset: JSON unless `stream` (stderr) is
    a terminal."""
    chosen = environment().log_format
    if chosen is not None:
        return chosen == "json"
    stream = stream or sys.stderr
    return not (hasattr(stream, "isatty") and stream.isatty())


def log_handler(stream: Any = None, *, as_json: bool | None = None) -> logging.Handler:
    """A handler writing one line per record to `stream` (stderr), JSON or text, every line
    through `casework.redact` (issue 27: no secret reaches a log)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(CaseContext())
    if wants_json(stream) if as_json is None else as_json:
        from pythonjsonlogger.json import JsonFormatter

        handler.setFormatter(
            Redacting(
                JsonFormatter(
                    JSON_FIELDS,
                    rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
                    static_fields={},
                    reserved_attrs=[
                        *_RESERVED,
                        "temporal_workflow",
                        "temporal_activity",
                        "temporal_log",  # the SDK core's entry object: its message is the line
                        "where",
                    ],
                    timestamp=False,
                    datefmt=TIME_FORMAT,
                )
            )
        )
    else:
        handler.setFormatter(Redacting(logging.Formatter(TEXT_FORMAT, TIME_FORMAT)))
    return handler


class Redacting(logging.Formatter):
    """Another formatter's line with secrets masked (`casework.redact.redact`): the message,
    the extra fields and any traceback alike, whichever logger wrote it."""

    def __init__(self, inner: logging.Formatter) -> None:
        super().__init__()
        self.inner = inner

    def format(self, record: logging.LogRecord) -> str:
        from casework.redact import redact

        return redact(self.inner.format(record))


_RESERVED = [
    "args",
    "created",
    "exc_info",
    "exc_text",
    "filename",
    "funcName",
    "levelno",
    "lineno",
    "module",
    "msecs",
    "msg",
    "pathname",
    "process",
    "processName",
    "relativeCreated",
    "stack_info",
    "thread",
    "threadName",
    "taskName",
]
"""LogRecord attributes left out of a JSON line (the message, level, logger and time stay)."""


QUIET_LOGGERS = (
    "httpx",
    "httpcore",
    "hpack",
    "aiosmtplib",
    "uvicorn.access",
    "alembic.runtime.plugins",
)
"""Third-party loggers held at WARNING: httpx logs every request's full URL at INFO, and the
URL of a chat incoming webhook or a pager *is* its credential (issue 27); the relay logs each
failure itself, with the row, the channel and the error's kind."""


def configure_logging(level: int = logging.INFO, stream: Any = None) -> logging.Handler:
    """The root logger writes through `log_handler` (replacing its handlers); returns it.
    CASEWORK_LOG_LEVEL (debug, info, warning, error) overrides `level`."""
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    handler = log_handler(stream)
    root.addHandler(handler)
    root.setLevel(level_from_env(level))
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    logging.getLogger("uvicorn.access").disabled = True  # the door logs its own (no query)
    return handler


def level_from_env(default: int) -> int:
    chosen = environment().log_level
    return default if chosen is None else int(getattr(logging, chosen.upper()))


class BusinessRefusalsInOneLine(logging.Filter):
    """An activity's business refusal (a non-retryable ApplicationError, e.g. an unknown
    account at intake) is the caller's answer, not a crash: one line, no traceback
    (`casework up`, whose terminal shows the log)."""

    def filter(self, record: logging.LogRecord) -> bool:
        from temporalio.exceptions import ApplicationError

        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, ApplicationError) and error.non_retryable:
            activity = getattr(record, "temporal_activity", {}) or {}
            record.msg = "%s refused: %s"
            record.args = (activity.get("activity_type", "activity"), error.message)
            record.exc_info = None
            record.exc_text = None
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True


# --- a line per activity ----------------------------------------------------------------------


class ActivityLog(Interceptor):
    """A worker interceptor that logs one line per activity attempt: its outcome and how long
    it took, with the case id, workflow and activity (CaseContext). A failure names only the
    error's type: its message may quote what the case carries (U5)."""

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _ActivityLogInbound(next)


class _ActivityLogInbound(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        from temporalio import activity

        started = time.monotonic()
        attempt = activity.info().attempt
        try:
            result = await self.next.execute_activity(input)
        except BaseException as e:
            ACTIVITY_LOGGER.warning(
                "attempt %d failed after %.0f ms (%s)",
                attempt,
                (time.monotonic() - started) * 1000,
                type(e).__name__,
            )
            raise
        ACTIVITY_LOGGER.info(
            "attempt %d done in %.0f ms", attempt, (time.monotonic() - started) * 1000
        )
        return result


ACTIVITY_LOGGER = logging.getLogger("casework.activity")
