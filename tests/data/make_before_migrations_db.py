"""How tests/data/casework-before-migrations.db was made: with the store of the last casework
without migrations (commit 39990a4, `casework/store.py`), some rows of every kind the upgrade
must keep. Not run by the tests; kept to remake the file the same way:

    git show 39990a4:casework/store.py > /tmp/old_store.py
    .venv/bin/python tests/data/make_before_migrations_db.py /tmp/old_store.py \
        tests/data/casework-before-migrations.db
"""

from __future__ import annotations

import importlib.util
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from casework.engine import load_directory
from casework.settings import DEMO_DIRECTORY

AT = datetime(2026, 3, 4, 15, 0, tzinfo=UTC)


def main(old_store_py: str, out: Path) -> None:
    spec = importlib.util.spec_from_file_location("old_store", old_store_py)
    assert spec is not None and spec.loader is not None
    old = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(old)
    out.unlink(missing_ok=True)
    store = old.Store(f"sqlite:///{out}")
    store.replace_directory(load_directory(DEMO_DIRECTORY))
    store.start_case_numbers_at(700_001)
    restricted = f"case-{store.allocate_case_number('req-restricted', AT)[0]:06d}"
    ordinary = f"case-{store.allocate_case_number('req-ordinary', AT)[0]:06d}"
    store.record_assignment(f"{restricted}:L1:1", restricted, "usc-kara", "L1", AT)
    store.record_assignment(f"{ordinary}:L1:1", ordinary, "gsc-erin", "L1", AT)
    for case, contact, engineer in (
        (restricted, "cyberdyne-judy", "usc-kara"),
        (ordinary, "acme-alice", "gsc-erin"),
    ):
        store.add_notification(
            f"{case}:0:contact:{contact}",
            case_id=case,
            recipient_kind="contact",
            recipient_id=contact,
            address=store.contact_address(contact),
            subject=f"{case} opened",
            body="We have your case.",
            created_at=AT,
        )
        store.add_notification(
            f"{case}:1:engineer:{engineer}",
            case_id=case,
            recipient_kind="engineer",
            recipient_id=engineer,
            address=store.engineer(engineer).email,
            subject=f"{case} is yours",
            body="Secret details of the case.",
            created_at=AT,
        )
    store.record_log_approval(
        f"{restricted}-logs-1",
        restricted,
        ["att-1"],
        "approved",
        "cyberdyne-ivan",
        AT + timedelta(hours=1),
    )
    for case, account in ((restricted, "cyberdyne"), (ordinary, "acme")):
        store.record_case_facts(
            {
                "case_id": case,
                "revision": 3,
                "account": account,
                "tier": "PLATINUM",
                "priority": "P2",
                "category": "support",
                "opened_at": AT,
                "due_at": AT + timedelta(hours=1),
                "responded_at": AT + timedelta(minutes=20),
                "breached_at": None,
            }
        )
    store.record_escalation(
        {
            "escalation_id": f"{ordinary}-E1",
            "case_id": ordinary,
            "account": "acme",
            "tier": "PLATINUM",
            "priority": "P2",
            "channel": "online",
            "reason": "lack_of_progress",
            "raised_at": AT,
            "acknowledged_at": AT + timedelta(minutes=5),
            "acknowledged_by": "em-jon",
            "ended_at": None,
        }
    )
    store.dispose()


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))
