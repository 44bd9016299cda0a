"""The door's HTTP API, one router per resource (the table of routes: `casework.door`):

| module        | routes                                                              |
|---------------|---------------------------------------------------------------------|
| health        | GET /healthz                                                        |
| problems      | GET /problems/{slug}; `answer_with_problems`: every error a problem |
| people        | GET /v1/whoami                                                      |
| cases         | POST /v1/cases, GET /v1/cases, GET /v1/cases/{case}                 |
| feed          | GET /v1/cases/{case}/feed                                           |
| actions       | POST /v1/cases/{case}/actions/{action}                              |
| attachments   | POST /v1/cases/{case}/attachments, GET .../attachments/{attachment} |
| outbox        | GET /v1/outbox                                                      |
| (webhooks)    | /v1/webhooks: casework.door.webhooks (operators only, issue 14)     |
| versions      | GET /v1/versions, POST /v1/versions/promote (operators, issue 28)   |
| (probes)      | /livez, /readyz: casework.door.health (issue 27)                    |
| codec         | `mount_codec`: /codec/encode, /codec/decode (issue 10)              |
| openapi       | what the OpenAPI document says beyond FastAPI's inference           |

`common` holds their dependencies (the person, the door, the JSON body, the Idempotency-Key).
A route's work is `casework.door.center`'s, shared with the page (`casework.door.page`).
"""

from __future__ import annotations

from fastapi import APIRouter

from casework.door import health as probes
from casework.door import webhooks
from casework.door.routes import (
    actions,
    attachments,
    cases,
    feed,
    health,
    outbox,
    people,
    problems,
    versions,
)

API_ROUTERS: tuple[APIRouter, ...] = (
    health.router,
    problems.router,
    people.router,
    cases.router,
    feed.router,
    outbox.router,
    actions.router,
    attachments.router,
    webhooks.router,  # issue 14: integrations' webhooks (operators only)
    versions.router,  # issue 28: worker versions and rollouts (operators only)
    probes.router,  # issue 27: /livez, /readyz for a load balancer
)
"""In the order the app matches them (no two share a path)."""
