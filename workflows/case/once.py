"""A message acts at most once (issue 24): a door's token is taken once and only with the
message it was made for, and an update the case took before is answered with its first
outcome (the door's Idempotency-Key). The memories are the case's state
(`CaseState.taken_tokens`, `remembered_actions`), so they cross continue-as-new; their rules
and bounds are in `casework.domain.once`.
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from casework.domain import once
    from casework.domain.actions import ActionResult
    from casework.identity.principal import Principal

from workflows.case.context import CaseContext

KEY_REUSED = "IdempotencyKeyReused"


class Once:
    def __init__(self, ctx: CaseContext) -> None:
        self.ctx = ctx
        self.tokens = once.TokenMemory(ctx.case.taken_tokens)

    def take(self, name: str, principal: Principal) -> None:
        """Take the principal's token, or refuse the message (on the feed): a token made for
        another message, or one taken before. A message without a token (the namespace
        operator) or with one that did not verify is the caller's rules' concern."""
        if principal.token_id is None:
            return
        reason: str | None
        if principal.message == "mismatch":
            reason = (
                "the credential was made for another message (its payload differs from the "
                "one it was signed for); send the request through casework"
            )
        else:
            expires = principal.token_expires or 0
            reason = self.tokens.take(principal.token_id, expires, workflow.now())
        if reason is not None:
            raise self.ctx.refuse(name, principal.acting_as, reason, "CredentialRefused")

    def recall(
        self, name: str, principal: Principal, update: workflow.UpdateInfo | None
    ) -> ActionResult | None:
        """The first outcome of an update taken before (its refusal is raised again, not
        recorded again); None for a new one."""
        if update is None:
            return None
        try:
            found = once.recall(
                self.ctx.case.remembered_actions, principal.id, update.id, workflow.now()
            )
        except once.KeyReused as e:
            raise self.ctx.refuse(name, principal.acting_as, str(e), KEY_REUSED) from None
        if found is None:
            return None
        if found.result is not None:
            return ActionResult.model_validate(found.result)
        raise ApplicationError(
            found.refusal or f"{name} was refused", type=found.refusal_type, non_retryable=True
        )

    def remember(
        self,
        principal: Principal,
        update: workflow.UpdateInfo | None,
        *,
        result: ActionResult | None = None,
        refusal: ApplicationError | None = None,
    ) -> None:
        if update is None:
            return
        once.remember(
            self.ctx.case.remembered_actions,
            principal.id,
            update.id,
            workflow.now(),
            result=result.model_dump(mode="json") if result is not None else None,
            refusal=refusal.message if refusal is not None else None,
            refusal_type=refusal.type if refusal is not None else None,
        )
