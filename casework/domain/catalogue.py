"""The catalogue of Case Center actions (E2-E5, E3, U5, U6, A3): one entry per action (what an
entry says: casework/domain/catalogue_entry.py), and everything else about actions is derived
from it:
- the action's model and its validation: `model` (casework/domain/actions.py `MODELS`);
- the case's update, its validator and handler: `name`, `part`, `handler`
  (workflows/case/updates.py);
- the door's action route and its rules: `upload`, `by_phone` (casework/door/center.py,
  casework/door/rules.py), and the OpenAPI request bodies (casework/door/routes/openapi.py);
- the page's forms and who is offered them: `form`, `offered_to` (casework/door/presentation.py);
- the CLI's command and its options: `command` (casework/cli/actions.py `declare`).

Adding an action: its model (casework/domain/actions.py) and its entry here, its handler in
its part (workflows/case/), its rule (the lifecycle event of the same name,
casework/domain/lifecycle.py) and its test; then regenerate docs/openapi.json
(tests/test_api.py says how). Update names, their payloads and validators are the case's
contract with histories and the `temporal` CLI: never rename an entry.

Pure data, without pydantic: the CLI builds its commands from it and answers `--help` without
loading the models. The model is named by its class name; casework/domain/actions.py resolves
every name when it is imported (and fails at once on a name it does not define).
"""

from __future__ import annotations

from casework.domain.catalogue_entry import (
    CUSTOMERS,
    ENGINEERS,
    MANAGERS,
    Action,
    Command,
    Form,
    FormField,
    Group,
    Option,
)


def _text(name: str, label: str, required: bool = True) -> FormField:
    return FormField(name, label, "textarea", required)


WHY = "Why."

CATALOGUE: tuple[Action, ...] = (
    Action(
        "respond",
        "Respond",
        "clock",
        "respond",
        ENGINEERS,
        Form(
            "Respond to the customer",
            "Send response",
            10,
            (_text("text", "Response"),),
            "primary",
            "Your first response stops the SLA clock (S2).",
        ),
        Command(
            "respond",
            "actions",
            "The owning engineer answers the customer; the first answer stops the SLA clock (S2).",
            (Option("text", "--text", "The answer.", required=True),),
        ),
        tells_customer=True,
    ),
    Action(
        "comment",
        "Comment",
        "actions",
        "comment",
        CUSTOMERS + ENGINEERS,
        Form("Add a comment", "Post comment", 30, (_text("text", "Comment"),), "primary"),
        Command(
            "comment",
            "actions",
            "A Case Comment by a contact of the account or the owning engineer (E4).",
            (Option("text", "--text", "The comment.", required=True),),
        ),
        by_phone=True,
        tells_customer=True,
    ),
    Action(
        "request_info",
        "RequestInfo",
        "actions",
        "request_info",
        ENGINEERS,
        Form(
            "Request information",
            "Ask the customer",
            20,
            (
                FormField("items", "What you need", "checkboxes", True),
                _text("text", "Message", required=False),
            ),
            hint="The case waits on the customer until they answer (E5).",
        ),
        Command(
            "request-info",
            "actions",
            "The owning engineer asks the customer for information; the case waits on them (E5).",
            (
                Option(
                    "items",
                    "--item",
                    "What the customer should send (repeat): hardware, software_version, logs, "
                    "events_before_problem, configuration, deployment_type, device_locations.",
                    required=True,
                    repeat=True,
                    lower=True,
                ),
                Option("text", "--text", "A note to the customer."),
            ),
        ),
        tells_customer=True,
    ),
    Action(
        "provide_info",
        "ProvideInfo",
        "actions",
        "provide_info",
        CUSTOMERS,
        Form(
            "Provide the information asked for",
            "Send information",
            40,
            (_text("text", "Information"),),
            "primary",
        ),
        Command(
            "provide-info",
            "actions",
            "A contact answers a request for information; the case goes back to the engineer (E5).",
            (Option("text", "--text", "The answer.", required=True),),
        ),
        by_phone=True,
    ),
    Action(
        "escalate",
        "Escalate",
        "actions",
        "escalate",
        ENGINEERS,
        Form(
            "Escalate to the next level",
            "Escalate",
            50,
            (_text("reason", "Reason"),),
            "warning",
            "The case goes back to routing one level up (E2).",
        ),
        Command(
            "escalate",
            "actions",
            "The owning engineer hands the case to the next level, L0 -> L1 -> L2 -> L3 (E2).",
            (Option("reason", "--reason", WHY, required=True),),
        ),
    ),
    Action(
        "file_problem_report",
        "FileProblemReport",
        "actions",
        "file_problem_report",
        ENGINEERS,
        Form(
            "File a Problem Report",
            "File PR",
            90,
            (_text("summary", "Summary"),),
            hint="E2: to product engineering; the case stays open and linked.",
        ),
        Command(
            "file-pr",
            "actions",
            "At L3, file a Problem Report to product engineering; the case stays open (E2).",
            (Option("summary", "--summary", "The problem.", required=True),),
        ),
        tells_customer=True,
    ),
    Action(
        "change_priority",
        "ChangePriority",
        "clock",
        "change_priority_action",
        CUSTOMERS + ENGINEERS,
        Form(
            "Change priority",
            "Change priority",
            70,
            (FormField("priority", "New priority", "select", True), FormField("reason", "Why")),
            hint="The SLA target is recomputed from the opening time (S4).",
        ),
        Command(
            "change-priority",
            "actions",
            "Change Priority: the SLA target is recomputed from the opening time at once (S4).",
            (
                Option("priority", "--priority", "P1, P2 or P3.", required=True),
                Option("reason", "--reason", WHY),
            ),
        ),
        by_phone=True,
    ),
    Action(
        "resolve",
        "Resolve",
        "actions",
        "resolve",
        ENGINEERS,
        Form("Resolve", "Resolve case", 60, (_text("resolution", "Resolution"),), "primary"),
        Command(
            "resolve",
            "actions",
            "The owning engineer resolves the case; the customer can close or reopen it.",
            (Option("resolution", "--resolution", "The fix.", required=True),),
        ),
        tells_customer=True,
    ),
    Action(
        "close",
        "Close",
        "actions",
        "close",
        CUSTOMERS,
        Form(
            "Close the case", "Close case", 140, (FormField("reason", "Why (optional)"),), "danger"
        ),
        Command(
            "close",
            "actions",
            "A contact closes the case, at any time (E4).",
            (Option("reason", "--reason", WHY),),
        ),
        by_phone=True,
    ),
    Action(
        "reopen",
        "Reopen",
        "actions",
        "reopen",
        CUSTOMERS,
        Form("Reopen the case", "Reopen", 150, (_text("reason", "Why"),), "warning"),
        Command(
            "reopen",
            "actions",
            "A contact reopens a resolved case; it goes back to its engineer.",
            (Option("reason", "--reason", WHY, required=True),),
        ),
        by_phone=True,
    ),
    Action(
        "attach",
        "Attach",
        "approvals",
        "attach",
        CUSTOMERS + ENGINEERS,
        Form("Attach a file", "Upload", 180),  # the page's upload form (templates/case.html)
        Command(
            "attach",
            "files",
            "Attach a file: a contact of the account or the owning engineer (E5).\n\n"
            "The file is uploaded to the casework API, which keeps it in the attachment store; "
            "the case records only a reference (name, kind, SHA-256, size), never the bytes "
            "(U5). Prints its id on the case, att-N, for `request-log-approval --log`.",
            (
                Option("name", "--name", "Its name on the case. Default: the file's name."),
                Option("kind", "--kind", "log, configuration or other."),
            ),
            by_hand=True,
        ),
        upload=True,
    ),
    Action(
        "request_log_approval",
        "RequestLogApproval",
        "approvals",
        "request",
        ENGINEERS,
        Form(
            "Ask the customer to approve sharing logs",
            "Request approval",
            80,
            (FormField("logs", "Logs (att-N)", "checkboxes", True), FormField("note", "Note")),
            hint="U6: nothing leaves without the approval of an authorised contact.",
        ),
        Command(
            "request-log-approval",
            "files",
            "U6: the owning engineer at L3 asks the customer before any log goes to product "
            "engineering with a Problem Report. An authorised contact approves or declines; the "
            "customer is reminded and the request expires, in business days (policy).",
            (
                Option(
                    "logs",
                    "--log",
                    "A log attachment to share, e.g. att-1 (repeat for more).",
                    required=True,
                    repeat=True,
                ),
                Option("note", "--note", "Why engineering needs them."),
            ),
        ),
        tells_customer=True,
    ),
    Action(
        "approve_logs",
        "ApproveLogs",
        "approvals",
        "answer",
        CUSTOMERS,
        Form(
            "Approve sharing the logs",
            "Approve",
            120,
            (),
            "primary",
            "Exactly the logs named in the request go to product engineering, for this "
            "escalation only (U6).",
        ),
        Command(
            "approve-logs",
            "files",
            "U6: an authorised contact (approver) lets exactly the named logs go to "
            "engineering, with this case's next PR only. Customer Care records a caller's "
            "approval with --for.",
            (
                Option(
                    "request_id",
                    "--request",
                    "The request id, e.g. case-000001-logs-1. Default: the pending one.",
                ),
            ),
        ),
        by_phone=True,
    ),
    Action(
        "decline_logs",
        "DeclineLogs",
        "approvals",
        "answer",
        CUSTOMERS,
        Form(
            "Decline sharing the logs",
            "Decline",
            130,
            (FormField("reason", "Why (optional)"),),
            "danger",
            "The case goes on without the logs; resolution may be significantly delayed (U6).",
        ),
        Command(
            "decline-logs",
            "files",
            "U6: an authorised contact declines; the case goes on without sharing logs "
            "(resolution may take significantly longer). Customer Care records a caller's "
            "answer with --for.",
            (
                Option(
                    "request_id",
                    "--request",
                    "The request id, e.g. case-000001-logs-1. Default: the pending one.",
                ),
                Option("reason", "--reason", WHY),
            ),
        ),
        by_phone=True,
    ),
    Action(
        "escalate_now",
        "EscalateNow",
        "ladder",
        "escalate_now",
        CUSTOMERS,
        Form(
            "Escalate Now",
            "Escalate Now",
            110,
            (
                FormField("reason", "Reason", "select", True),
                FormField("priority", "Raise priority to (optional)", "select"),
                _text("note", "Note for the Escalation Manager", required=False),
            ),
            "warning",
            "An Escalation Manager on duty takes it up (E3).",
        ),
        Command(
            "escalate-now",
            "escalations",
            "Escalate Now (E3): a contact escalates the case online, or a Customer Care (L0) "
            "engineer records a caller's escalation with --for; the answer names the escalation "
            "and the Escalation Manager who has it (with --output json: escalation_id, "
            "escalation_manager).",
            (
                Option("reason", "--reason", "Why the customer escalates.", required=True),
                Option("note", "--note", "In the customer's words."),
                Option("priority", "--priority", "Raise the priority with it: P1 or P2 (E4, S4)."),
            ),
            by_hand=True,
        ),
        by_phone=True,
        names_escalation=True,
    ),
    Action(
        "acknowledge_escalation",
        "AcknowledgeEscalation",
        "ladder",
        "acknowledge",
        MANAGERS,
        Form(
            "Acknowledge the escalation",
            "Acknowledge",
            160,
            (FormField("note", "Note"),),
            "primary",
        ),
        Command(
            "acknowledge",
            "escalations",
            "The Escalation Manager who has the escalation acknowledges it; it stays with them "
            "(E3).",
            (Option("note", "--note", "A note for the feed."),),
        ),
        names_escalation=True,
    ),
    Action(
        "de_escalate",
        "DeEscalate",
        "ladder",
        "de_escalate",
        MANAGERS,
        Form("De-escalate", "De-escalate", 170, (FormField("note", "Note"),)),
        Command(
            "de-escalate",
            "escalations",
            "The Escalation Manager who has the escalation ends it (E3).",
            (Option("note", "--note", "Why it ends."),),
        ),
        names_escalation=True,
    ),
    Action(
        "accept",
        "Accept",
        "routing",
        "accept",
        ENGINEERS,
        Form("Accept this case", "Accept", 100, (), "primary"),
        Command(
            "accept",
            "premium",
            "The account's premium expert (CSM-Lite, CSM, Resident Engineer) takes a new case "
            "offered to them, within the policy's `premium_accept_within` (A3).",
        ),
        own_update=True,
    ),
)
"""In the order the case lists them (the `act` signal's refusal names them so) and `casework
--help` lists their commands within a group."""

ACTIONS: dict[str, Action] = {a.name: a for a in CATALOGUE}
PHONE_ACTIONS = frozenset(a.name for a in CATALOGUE if a.by_phone)
"""E3, U6: what Customer Care records for a caller; the only actions done for someone else."""
ESCALATION_ACTIONS = frozenset(a.name for a in CATALOGUE if a.names_escalation)


def commands_of(group: Group) -> list[Action]:
    """The actions whose command `casework/cli/<group>.py` declares, in catalogue order."""
    return [a for a in CATALOGUE if a.command.group == group]
