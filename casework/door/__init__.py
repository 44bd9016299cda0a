"""The door: the one way people reach cases (issue 10). An ASGI app (FastAPI, served by
uvicorn) that authenticates a person, then calls Temporal on their behalf with a token signed
for them (`casework.identity`). Customers, engineers, partner engineers and Escalation Managers
never need access to the Temporal namespace.

The Case Center API, version 1 (issue 13), and the Case Center web page beside it
(`casework.door.page`, at `/`). Every API request but `GET /healthz` carries
`Authorization: Bearer <credential>`: an API key (`cw_<key id>_<secret>`, `casework keys`) or,
where configured, an OIDC access token (a JWT) from the identity provider. Each operation calls
the same `casework.client` function as the CLI (`casework.door.center`).

| method and path | body / query | answer |
|---|---|---|
| GET /healthz | | `{"ok": true}` |
| GET /openapi.json | | this API's OpenAPI document (checked in as docs/openapi.json) |
| GET /v1/whoami | | `Identity` |
| POST /v1/cases | `OpenCaseRequest` fields; `Idempotency-Key` | `OpenCaseResult` (P2: referral) |
| GET /v1/cases | `state priority tier breached account restricted security limit` | list |
| GET /v1/cases/{case} | | `CaseView` (U5: withheld for outsiders) |
| GET /v1/cases/{case}/feed | `page page_size` | `FeedPage` (older feed pages, from the store) |
| POST /v1/cases/{case}/actions/{action} | fields but `actor`; `on_behalf_of` | `ActionResult` |
| POST /v1/cases/{case}/attachments | multipart `file`, form `kind` `name` | `ActionResult` |
| GET /v1/cases/{case}/attachments/{att} | | the file (U5: not to outsiders) |
| GET /v1/outbox | `case limit` | what the engine told people |
| GET /v1/versions | (operators) | `VersionView` list: versions, open cases (issue 28) |
| POST /v1/versions/promote | `{"build_id", "ramp"}` (operators) | `PromoteResult`: a rollout |
| POST /codec/encode, /codec/decode | Temporal's remote codec protocol | payloads |

Models: `Identity` (casework.door.people), `FeedPage` (casework.door.center), the others in
casework.domain. The app: `casework.door.app.create_app`; run by `casework up` (port 8234) or
alone by `casework api` (`casework door` is the same).

`{case}` is `case-000123` or `123`; `{action}` is a name of `ACTION_MODELS` or `accept`:
respond, comment, request_info, provide_info, escalate, file_problem_report, change_priority,
resolve, close, reopen, request_log_approval, approve_logs, decline_logs, escalate_now,
acknowledge_escalation, de_escalate, accept.

Opening is idempotent: the same `Idempotency-Key` (or body `request_id`) with the same request
answers the same case (`created: false`); with a different request, 422 naming the fields that
differ, and nothing opens.

Errors are RFC 9457 problems (`application/problem+json`): `type` (`/problems/<kind>`),
`title`, `status`, `detail` (one paragraph: what was wrong and how to fix it, the sentence the
CLI prints), `error` (the same, for older clients) and, on a 422, `fields`. Status
400 (not JSON, not a case number, an unknown filter value), 401 (no, forged, expired or revoked
credential), 403 (the credential is good but this person may not do this), 404 (no such case,
action or file), 409 (the case refused the action: its rules; the refusal is on the case's
feed), 413 (a body or file over its bound: CASEWORK_MAX_UPLOAD for files), 422 (a field is not
valid: it is named), 503 (Temporal or the worker did not answer in time).
"""
