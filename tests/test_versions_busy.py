"""`casework versions promote` waits for the new routing to reach every task queue by asking
the server again and again; a loaded server sometimes answers one of those looks with
"operation was canceled" (seen in CI: the promote failed on it). Such an answer is a look
that found nothing yet, not the end of the operator's command (issue 28)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from temporalio.api.enums.v1 import RoutingConfigUpdateState
from temporalio.api.workflowservice.v1 import DescribeWorkerDeploymentResponse
from temporalio.service import RPCError, RPCStatusCode

from casework.versions import until_propagated


class _Server:
    """A deployment's describe that answers `answers` in turn, then the last one again."""

    def __init__(self, *answers: Any) -> None:
        self.answers = list(answers)
        self.asked = 0

    async def describe_worker_deployment(self, _request: Any) -> DescribeWorkerDeploymentResponse:
        self.asked += 1
        answer = self.answers[min(self.asked, len(self.answers)) - 1]
        if isinstance(answer, RPCError):
            raise answer
        return answer


def _client(server: _Server) -> Any:
    return SimpleNamespace(namespace="default", workflow_service=server)


def _routed() -> DescribeWorkerDeploymentResponse:
    done = RoutingConfigUpdateState.ROUTING_CONFIG_UPDATE_STATE_COMPLETED
    answer = DescribeWorkerDeploymentResponse()
    answer.worker_deployment_info.routing_config_update_state = done
    return answer


async def test_a_busy_answer_while_waiting_for_the_routing_is_asked_again() -> None:
    busy = RPCError("operation was canceled", RPCStatusCode.CANCELLED, b"")
    server = _Server(busy, busy, _routed())
    assert await until_propagated(_client(server), "casework-x", timeout=10)
    assert server.asked == 3


async def test_any_other_refusal_ends_the_wait_with_it() -> None:
    denied = RPCError("permission denied", RPCStatusCode.PERMISSION_DENIED, b"")
    with pytest.raises(RPCError, match="permission denied"):
        await until_propagated(_client(_Server(denied)), "casework-x", timeout=10)
