"""The door: the one way people reach cases (issue 10). An ASGI app (FastAPI, served by
uvicorn) that authenticates a person, then calls Temporal on their behalf with a token signed
for them (`casework.identity`). Customers, engineers, partner engineers and Escalation Managers
never need access to the Temporal namespace.

The HTTP API, version 1. Every request but `GET /healthz` carries
`Authorization: Bearer <credential>`: an API key (`cw_<key id>_<secret>`, `casework keys`) or,
where configured, an OIDC access token (a JWT) from the identity provider.

| method and path | body / query | answer |
|---|---|---|
| GET /healthz | | `{"ok": true}` |
| GET /v1/whoami | | `Identity` |
| POST /v1/cases | `OpenCaseRequest` fields (`request_id` optional) | `OpenCaseResult` |
| GET /v1/cases | `state priority tier breached account restricted security` | list |
| GET /v1/cases/{case} | | `CaseView` (U5: withheld for outsiders) |
| GET /v1/cases/{case}/feed | `page page_size` | `FeedPage` (older feed pages, from the store) |
| POST /v1/cases/{case}/actions/{action} | fields but `actor`; `on_behalf_of` | `ActionResult` |
| POST /v1/cases/{case}/attachments | multipart `file`, form `kind` | `ActionResult` of `attach` |
| POST /codec/encode, /codec/decode | Temporal's remote codec protocol | payloads |

Models: `Identity` (casework.door.people), `FeedPage` (casework.door.app), the others in
casework.domain. The app: `casework.door.app.create_app`; run by `casework up` (port 8234) or
alone by `casework door`.

`{case}` is `case-000123` or `123`; `{action}` is a name of `ACTION_MODELS` or `accept`.

Errors are `{"error": "<one paragraph: what was wrong and how to fix it>"}` with status
400 (bad input: nothing was sent), 401 (no, forged, expired or revoked credential),
403 (the credential is good but this person may not do this), 404 (no such case),
409 (the case refused the action: its rules; the refusal is on the case's feed),
503 (Temporal or the worker did not answer in time).
"""
