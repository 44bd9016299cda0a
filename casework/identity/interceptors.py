"""Carrying the verified principal from the door to the case workflow.

Client side (`PrincipalHeaders`, on the door's Temporal client): inside `acting(principal)`,
every update, signal and query the client sends gets a token signed for that principal, that
case and that operation, in the `casework-principal` header. Outside it, nothing is added.

Worker side (`PrincipalCheck`, on the worker): before any update validator, update handler,
signal or query of a case workflow runs, the header's token is checked (`tokens.verify`) and the
principal set for the handler (`principal.current()`):
- no header: the namespace operator (someone using the Web UI or the `temporal` CLI directly);
- a token that does not verify: an update is rejected by its validator with the reason (it
  never enters history); a signal or query runs as a principal carrying the refusal, which the
  case turns down (a signal's refusal is on the feed; a query sees what an operator sees).
A case signalling another case (P4: a partner case and its vendor escalation) signs its signal
for itself (`via="workflow"`), so the receiving case knows it came from the engine. That token
travels as a last argument `{"casework-principal": token}` (the test server drops the headers
of a workflow's signals), which the receiving side takes off before the handler sees it.
Updates and signals are checked against workflow time, so a replay decides as the first run
did; queries are not in history and are checked against the wall clock.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.api.common.v1 import Payload
from temporalio.client import (
    Client,
    OutboundInterceptor,
    QueryWorkflowInput,
    SignalWorkflowInput,
    StartWorkflowUpdateInput,
    StartWorkflowUpdateWithStartInput,
    WorkflowUpdateHandle,
)
from temporalio.client import (
    Interceptor as ClientInterceptor,
)
from temporalio.common import HeaderCodecBehavior, RawValue
from temporalio.converter import PayloadConverter
from temporalio.exceptions import ApplicationError
from temporalio.worker import (
    HandleQueryInput,
    HandleSignalInput,
    HandleUpdateInput,
    Interceptor,
    SignalChildWorkflowInput,
    SignalExternalWorkflowInput,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
    WorkflowOutboundInterceptor,
)

from casework.identity import principal as who
from casework.identity.keyring import KeyRing
from casework.identity.principal import NAMESPACE_OPERATOR, Principal
from casework.identity.tokens import (
    HEADER,
    TOKEN_TTL,
    TokenRefused,
    issue,
    message_digest,
    verify,
)

CHECKED_WORKFLOWS = frozenset({"Case"})

_outgoing: ContextVar[Principal | None] = ContextVar("casework_outgoing", default=None)


def with_encrypted_headers(client: Client) -> Client:
    """`client` with its Temporal headers encoded by its payload codec (issue 24): the door's
    tokens are encrypted in history like payloads, and a worker built on such a client
    decodes them (a header sent in plain text, by an older door, still decodes)."""
    config = client.config()
    if config.get("header_codec_behavior") == HeaderCodecBehavior.CODEC:
        return client
    config["header_codec_behavior"] = HeaderCodecBehavior.CODEC
    return Client(**config)


@contextmanager
def acting(principal: Principal) -> Iterator[None]:
    """Within this block, what the client sends carries a token for `principal`."""
    token = _outgoing.set(principal)
    try:
        yield
    finally:
        _outgoing.reset(token)


def _header(
    payloads: Any,
    ring: KeyRing,
    workflow_id: str,
    operation: str,
    ttl: timedelta,
    args: Sequence[Any] | None = None,
) -> Any:
    """The headers with a token for the principal acting now, bound to `args` (the message's
    arguments) when given: updates and signals, which the history keeps."""
    principal = _outgoing.get()
    if principal is None:
        return payloads
    token = issue(
        ring,
        principal,
        workflow_id=workflow_id,
        operation=operation,
        now=datetime.now(UTC),
        ttl=ttl,
        digest=message_digest(args) if args is not None else None,
    )
    return {**payloads, HEADER: PayloadConverter.default.to_payloads([token])[0]}


class PrincipalHeaders(ClientInterceptor):
    """Client interceptor of the door: see the module docstring. `ttl`: how long its tokens
    are good for (tests on the time-skipping server, whose clock runs days ahead of the wall
    clock, sign for longer)."""

    def __init__(self, ring: KeyRing, ttl: timedelta = TOKEN_TTL) -> None:
        self.ring = ring
        self.ttl = ttl

    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        return _Outbound(next, self.ring, self.ttl)


class _Outbound(OutboundInterceptor):
    def __init__(self, next: OutboundInterceptor, ring: KeyRing, ttl: timedelta) -> None:
        super().__init__(next)
        self.ring = ring
        self.ttl = ttl

    async def start_workflow_update(
        self, input: StartWorkflowUpdateInput
    ) -> WorkflowUpdateHandle[Any]:
        input.headers = _header(
            input.headers, self.ring, input.id, input.update, self.ttl, input.args
        )
        return await super().start_workflow_update(input)

    async def start_update_with_start_workflow(
        self, input: StartWorkflowUpdateWithStartInput
    ) -> WorkflowUpdateHandle[Any]:
        update = input.update_workflow_input
        update.headers = _header(
            update.headers,
            self.ring,
            input.start_workflow_input.id,
            update.update,
            self.ttl,
            update.args,
        )
        return await super().start_update_with_start_workflow(input)

    async def signal_workflow(self, input: SignalWorkflowInput) -> None:
        input.headers = _header(
            input.headers, self.ring, input.id, input.signal, self.ttl, input.args
        )
        await super().signal_workflow(input)

    async def query_workflow(self, input: QueryWorkflowInput) -> Any:
        input.headers = _header(input.headers, self.ring, input.id, input.query, self.ttl)
        return await super().query_workflow(input)


def principal_of(
    ring: KeyRing,
    headers: Any,
    workflow_id: str,
    operation: str,
    now: datetime,
    args: Sequence[Any] | None = None,
) -> Principal:
    """Who sent a message: the verified principal, the operator (no token), or a principal
    carrying why its token was refused. `args`: the message's arguments as received (updates
    and signals), so the principal says whether its token was made for them."""
    payload: Payload | None = headers.get(HEADER) if headers else None
    if payload is None:
        return NAMESPACE_OPERATOR
    try:
        token = PayloadConverter.default.from_payloads([payload], [str])[0]
        digest = received_digest(args) if args is not None else None
        return verify(
            ring, token, workflow_id=workflow_id, operation=operation, now=now, digest=digest
        )
    except TokenRefused as e:
        return Principal(id=who.OPERATOR, via="namespace", refused=str(e))
    except Exception:  # a header that is not even a string
        return Principal(
            id=who.OPERATOR, via="namespace", refused="the casework token is not a token"
        )


def received_digest(args: Sequence[Any]) -> str:
    """`message_digest` of a message as the worker received it: an argument taken raw (the
    `act` signal's) is digested as the JSON it holds, as its sender digested it."""
    values = []
    for arg in args:
        if isinstance(arg, RawValue):
            try:
                arg = PayloadConverter.default.from_payload(arg.payload)
            except Exception:  # not JSON: no sender's digest can match it
                arg = {"undecodable": arg.payload.metadata.get("encoding", b"").hex()}
        values.append(arg)
    return message_digest(values)


def proof_of(arg: Any) -> dict[str, Any] | None:
    """The trailing `{"casework-principal": token}` of another case's signal, whether the SDK
    decoded it or hands it over raw (a handler whose parameters take `RawValue`, as `act`
    does); None if `arg` is not one."""
    if isinstance(arg, RawValue):
        try:
            arg = PayloadConverter.default.from_payload(arg.payload)
        except Exception:  # not JSON: an argument, not a proof
            return None
    if isinstance(arg, dict) and list(arg) == [HEADER]:
        return arg
    return None


class PrincipalCheck(Interceptor):
    """Worker interceptor: see the module docstring."""

    def __init__(self, ring: KeyRing) -> None:
        self.ring = ring

    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[WorkflowInboundInterceptor]:
        ring = self.ring

        class _Inbound(_CheckedInbound):
            pass

        _Inbound.ring = ring
        return _Inbound


class _CheckedInbound(WorkflowInboundInterceptor):
    ring: KeyRing

    def init(self, outbound: WorkflowOutboundInterceptor) -> None:
        super().init(_SigningOutbound(outbound, self.ring))

    def _principal(
        self, headers: Any, operation: str, now: datetime, args: Sequence[Any] | None = None
    ) -> Principal | None:
        info = workflow.info()
        if info.workflow_type not in CHECKED_WORKFLOWS:
            return None
        return principal_of(self.ring, headers, info.workflow_id, operation, now, args)

    def handle_update_validator(self, input: HandleUpdateInput) -> None:
        principal = self._principal(input.headers, input.update, workflow.now(), input.args)
        if principal is not None and principal.refused:
            raise ApplicationError(
                f"{input.update} refused on {workflow.info().workflow_id}: {principal.refused}",
                type="CredentialRefused",
                non_retryable=True,
            )
        token = who.set_current(principal)
        try:
            super().handle_update_validator(input)
        finally:
            who.reset_current(token)

    async def handle_update_handler(self, input: HandleUpdateInput) -> Any:
        principal = self._principal(input.headers, input.update, workflow.now(), input.args)
        token = who.set_current(principal)
        try:
            return await super().handle_update_handler(input)
        finally:
            who.reset_current(token)

    async def handle_signal(self, input: HandleSignalInput) -> None:
        headers = input.headers
        proof = proof_of(input.args[-1]) if len(input.args) > 1 else None
        if proof is not None:  # another case's signal
            input.args = input.args[:-1]
            if HEADER not in headers and isinstance(proof[HEADER], str):
                headers = {HEADER: PayloadConverter.default.to_payloads([proof[HEADER]])[0]}
        principal = self._principal(headers, input.signal, workflow.now(), input.args)
        token = who.set_current(principal)
        try:
            await super().handle_signal(input)
        finally:
            who.reset_current(token)

    async def handle_query(self, input: HandleQueryInput) -> Any:
        token = who.set_current(self._principal(input.headers, input.query, datetime.now(UTC)))
        try:
            return await super().handle_query(input)
        finally:
            who.reset_current(token)


class _SigningOutbound(WorkflowOutboundInterceptor):
    """A case's signals to other cases carry a token for the case itself (`via="workflow"`).
    Headers of commands are not compared on replay, so the token may differ then."""

    def __init__(self, next: WorkflowOutboundInterceptor, ring: KeyRing) -> None:
        super().__init__(next)
        self.ring = ring

    def _token(self, target: str, signal: str, args: Sequence[Any]) -> str:
        me = Principal(id=workflow.info().workflow_id, via="workflow")
        return issue(
            self.ring,
            me,
            workflow_id=target,
            operation=signal,
            now=workflow.now(),
            digest=message_digest(args),
        )

    async def signal_external_workflow(self, input: SignalExternalWorkflowInput) -> None:
        token = self._token(input.workflow_id, input.signal, input.args)
        input.args = [*input.args, {HEADER: token}]
        await super().signal_external_workflow(input)

    async def signal_child_workflow(self, input: SignalChildWorkflowInput) -> None:
        token = self._token(input.child_workflow_id, input.signal, input.args)
        input.args = [*input.args, {HEADER: token}]
        await super().signal_child_workflow(input)
