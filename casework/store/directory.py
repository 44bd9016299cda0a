"""The directory as the operator loaded it: products, accounts and their contacts, partners,
engineers, authorised locations, the Escalation Managers' rota and the support director."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from pydantic_core import PydanticCustomError
from sqlalchemy import Table, delete, func, insert, select, update

from casework.domain.channels import Channels
from casework.domain.directory import (
    Account,
    Contact,
    Directory,
    Engineer,
    EscalationManager,
    Partner,
    SupportDirector,
    premium_expert_refusal,
)
from casework.domain.tiers import LOADED, S1_RULES, TierRules, under
from casework.domain.us_citizen import is_restricted_member
from casework.store.base import Repository
from casework.store.tables import (
    accounts,
    authorised_locations,
    contacts,
    engineers,
    escalation_managers,
    notify_channels,
    partners,
    products,
    support_director,
)


class DirectoryRepository(Repository):
    def is_loaded(self) -> bool:
        with self.engine.connect() as conn:
            return bool(conn.execute(select(func.count()).select_from(products)).scalar())

    def replace(self, directory: Directory) -> None:
        """Load a validated directory, replacing the previous one in one transaction."""
        rows = _rows_of(directory)
        with self.engine.begin() as conn:
            for table in rows:
                conn.execute(delete(table))
            for table, given in rows.items():
                if given:
                    conn.execute(insert(table), given)

    def product_names(self) -> list[str]:
        with self.engine.connect() as conn:
            return list(conn.execute(select(products.c.name)).scalars())

    def account(self, account_id: str) -> Account | None:
        with self.engine.connect() as conn:
            row = (
                conn.execute(select(accounts).where(accounts.c.id == account_id)).mappings().first()
            )
            if row is None:
                return None
            people = conn.execute(
                select(contacts).where(contacts.c.account_id == account_id).order_by(contacts.c.id)
            ).mappings()
            return _account(row, [_contact(p) for p in people])

    def accounts(self) -> list[Account]:
        """Every account with its contacts, by id."""
        with self.engine.connect() as conn:
            people: dict[str, list[Contact]] = {}
            for p in conn.execute(select(contacts).order_by(contacts.c.id)).mappings():
                people.setdefault(p["account_id"], []).append(_contact(p))
            rows = conn.execute(select(accounts).order_by(accounts.c.id)).mappings()
            return [_account(r, people.get(r["id"], [])) for r in rows]

    def partner(self, partner_id: str) -> Partner | None:
        with self.engine.connect() as conn:
            row = (
                conn.execute(select(partners).where(partners.c.id == partner_id)).mappings().first()
            )
            return Partner.model_validate(dict(row)) if row else None

    def partners(self) -> list[Partner]:
        """A4/P1: the Support Now partners, validated or not, by id."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(partners).order_by(partners.c.id)).mappings()
            return [Partner.model_validate(dict(r)) for r in rows]

    def contact(self, contact_id: str) -> tuple[str, Contact] | None:
        """A contact and the id of their account; None if there is no such contact."""
        with self.engine.connect() as conn:
            row = (
                conn.execute(select(contacts).where(contacts.c.id == contact_id)).mappings().first()
            )
        if row is None:
            return None
        return row["account_id"], _contact(row)

    def contact_address(self, contact_id: str) -> str | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(contacts.c.email, contacts.c.phone).where(contacts.c.id == contact_id)
            ).first()
            return (row.email or row.phone) if row else None

    def engineer_address(self, engineer_id: str) -> str | None:
        """Where an engineer's messages go (their e-mail), without reading the whole person."""
        with self.engine.connect() as conn:
            return conn.execute(
                select(engineers.c.email).where(engineers.c.id == engineer_id)
            ).scalar()

    def engineers(self) -> list[Engineer]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(engineers).order_by(engineers.c.id)).mappings()
            return [Engineer.model_validate(dict(r)) for r in rows]

    def engineer(self, engineer_id: str) -> Engineer | None:
        with self.engine.connect() as conn:
            row = (
                conn.execute(select(engineers).where(engineers.c.id == engineer_id))
                .mappings()
                .first()
            )
            return Engineer.model_validate(dict(row)) if row else None

    def authorised_locations(self) -> list[str]:
        with self.engine.connect() as conn:
            return list(conn.execute(select(authorised_locations.c.id)).scalars())

    def restricted_members(self) -> list[str]:
        """U2/U7: engineers with verified US citizenship at an authorised location."""
        locations = set(self.authorised_locations())
        return [e.id for e in self.engineers() if is_restricted_member(e, locations)]

    def is_restricted_member(self, person_id: str) -> bool:
        """U2/U7: whether `person_id` is one of `restricted_members()`, reading that one
        engineer (asked on every request the door and the codec serve: reading every
        engineer each time cost the door a tenth of its CPU with 50 engineers, and grows
        with the directory)."""
        engineer = self.engineer(person_id)
        return engineer is not None and is_restricted_member(
            engineer, set(self.authorised_locations())
        )

    def set_us_citizen_support(
        self, account_id: str, on: bool, zone: str | None = None, tiers: TierRules = S1_RULES
    ) -> Account:
        """U1: flag or unflag an account; refused (ValueError, nothing changed) for an account
        whose tier may not buy US Citizen Support under `tiers` (the engine's policy's; S1's:
        Platinum only), one without a zone, or one whose premium expert could then not take
        its cases (A3, U2)."""
        account = self.account(account_id)
        if account is None:
            raise ValueError(f"unknown account {account_id!r}")
        changes: dict[str, Any] = {"us_citizen_support": on}
        if zone is not None:
            changes["zone"] = zone
        updated = Account.model_validate({**account.model_dump(), **changes}, context=under(tiers))
        expert = self.engineer(updated.premium.expert) if updated.premium else None
        if updated.premium is not None and expert is not None:
            # A3 with U2: the expert must still be someone the account's cases may go to
            reason = premium_expert_refusal(updated, expert, self.authorised_locations())
            if reason is not None:
                raise ValidationError.from_exception_data(
                    "Account",
                    [
                        {
                            "type": PydanticCustomError("premium", "{reason}", {"reason": reason}),
                            "loc": ("premium", "expert"),
                            "input": expert.id,
                        }
                    ],
                )
        with self.engine.begin() as conn:
            conn.execute(
                update(accounts)
                .where(accounts.c.id == account_id)
                .values(us_citizen_support=updated.us_citizen_support, zone=updated.zone)
            )
        return updated

    # --- the escalation ladder (E3, S3) ----------------------------------------------------

    def rota(self) -> list[EscalationManager]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(escalation_managers).order_by(escalation_managers.c.rota_position)
            ).mappings()
            return [
                EscalationManager.model_validate(
                    {k: v for k, v in r.items() if k != "rota_position"}
                )
                for r in rows
            ]

    def support_director(self) -> SupportDirector | None:
        """E3/S3: the ladder's catch-all; None when the directory names none."""
        with self.engine.connect() as conn:
            row = conn.execute(select(support_director)).mappings().first()
            return SupportDirector.model_validate(dict(row)) if row else None

    def escalation_manager_address(self, person_id: str) -> str | None:
        """Where a rota manager or the support director is alerted: email, else phone."""
        with self.engine.connect() as conn:
            for table in (escalation_managers, support_director):
                row = conn.execute(
                    select(table.c.email, table.c.phone).where(table.c.id == person_id)
                ).first()
                if row:
                    return row.email or row.phone
        return None

    # --- how people are reached (issue 14) --------------------------------------------------

    def channels(self, person_id: str) -> Channels | None:
        """The channels the directory file gave this person (`notify:`); None: by email."""
        with self.engine.connect() as conn:
            found = conn.execute(
                select(notify_channels.c.channels).where(notify_channels.c.person_id == person_id)
            ).scalar()
        return Channels.model_validate(found) if found is not None else None


def _account(row: Any, people: list[Contact]) -> Account:
    """An account as loaded: checked against the policy then (A1, A3), not again now."""
    return Account.model_validate({**dict(row), "contacts": people}, context=LOADED)


def _contact(row: Any) -> Contact:
    return Contact(**{k: v for k, v in row.items() if k != "account_id"})


def _rows_of(directory: Directory) -> dict[Table, list[dict[str, Any]]]:
    """The directory's rows, table by table; its people's channels in a table of their own."""

    def dumped(models: list[Any], **extra: Any) -> list[dict[str, Any]]:
        return [m.model_dump(mode="json", exclude={"notify", "contacts"}) | extra for m in models]

    director = [directory.support_director] if directory.support_director else []
    return {
        products: [{"name": p} for p in directory.products],
        accounts: dumped(directory.accounts),
        contacts: [row for a in directory.accounts for row in dumped(a.contacts, account_id=a.id)],
        engineers: dumped(directory.engineers),
        escalation_managers: [
            row | {"rota_position": i}
            for i, row in enumerate(dumped(directory.escalation_managers))
        ],
        authorised_locations: [{"id": location} for location in directory.authorised_locations],
        partners: dumped(directory.partners),
        support_director: dumped(director),
        notify_channels: [
            {"person_id": person.id, "channels": person.notify.model_dump(mode="json")}
            for person in _people(directory)
            if person.notify is not None
        ],
    }


def _people(directory: Directory) -> list[Any]:
    """Everyone of the directory who may have channels."""
    people: list[Any] = [c for a in directory.accounts for c in a.contacts]
    people += [*directory.engineers, *directory.escalation_managers, *directory.partners]
    if directory.support_director is not None:
        people.append(directory.support_director)
    return people
