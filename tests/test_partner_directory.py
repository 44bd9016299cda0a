"""Partners in the directory (A4, P1): a PAR account names its Support Now partner, and only a
validated member of the program may own one. A file that breaks this is refused on load with
the line and the reason; the database keeps partners and which account bought through whom.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from casework.engine import load_directory
from casework.settings import DEMO_DIRECTORY
from casework.store import Store
from tests.test_directory_file import DEMO, line_of, mutate, refusal_of

PAR_ACCOUNT = 3
"""The demo's PAR account (soylent) comes after the three direct accounts."""


def test_the_demo_directory_has_a_validated_partner_and_a_par_account() -> None:
    """A4/P1: soylent bought Partner Branded Support through northwind-it, a validated member;
    the direct accounts name no partner."""
    directory = load_directory(DEMO_DIRECTORY)
    [partner] = directory.partners
    assert (partner.id, partner.name, partner.support_now_validated) == (
        "northwind-it",
        "Northwind IT Services",
        True,
    )
    assert partner.channels() == (
        "email support@northwind.example, phone +1 617 555 0170, "
        "web https://support.northwind.example"
    )
    by_partner = {a.id: a.partner for a in directory.accounts}
    assert by_partner == {
        "acme": None,
        "globex": None,
        "cyberdyne": None,
        "soylent": "northwind-it",
    }
    assert directory.accounts[PAR_ACCOUNT].id == "soylent"


def test_an_account_naming_an_unknown_partner_is_refused_at_its_line(tmp_path: Path) -> None:
    """A4: a PAR account's partner is one of the directory's partners."""
    text = mutate("partner: northwind-it", "partner: contoso")
    assert refusal_of(tmp_path, text) == (
        f"{line_of(text, 'partner: contoso')}: accounts.{PAR_ACCOUNT}.partner: account soylent "
        "names partner contoso, which is not among the directory's partners "
        "(known: northwind-it) (A4)"
    )


def test_a_par_account_of_a_partner_not_validated_is_refused(tmp_path: Path) -> None:
    """P1: a partner that is not a validated Support Now member cannot own PAR accounts; the
    refusal points at the account that names it."""
    text = mutate("support_now_validated: true", "support_now_validated: false")
    assert refusal_of(tmp_path, text) == (
        f"{line_of(DEMO, 'partner: northwind-it')}: accounts.{PAR_ACCOUNT}.partner: partner "
        "northwind-it is not a validated member of the Support Now program and cannot own PAR "
        "accounts (P1)"
    )


def test_a_partner_is_not_validated_unless_the_file_says_so(tmp_path: Path) -> None:
    """P1: validation is a fact to record, not a default."""
    text = mutate("    support_now_validated: true\n", "")
    assert "partner northwind-it is not a validated member" in refusal_of(tmp_path, text)


def test_an_unvalidated_partner_without_par_accounts_loads(tmp_path: Path) -> None:
    """P1 limits who owns PAR accounts; a partner still being validated may be listed."""
    path = tmp_path / "directory.yaml"
    text = mutate("support_now_validated: true", "support_now_validated: false")
    path.write_text(text.replace("    partner: northwind-it\n", ""), encoding="utf-8")
    directory = load_directory(path)
    assert not directory.partners[0].support_now_validated
    assert all(a.partner is None for a in directory.accounts)


def test_a_partner_without_any_contact_channel_is_refused(tmp_path: Path) -> None:
    """P2: a referred customer is told how to reach the partner, so a partner has an email,
    a phone or a web address."""
    text = (
        mutate("    email: support@northwind.example\n", "")
        .replace('    phone: "+1 617 555 0170"\n', "")
        .replace("    url: https://support.northwind.example\n", "")
    )
    assert refusal_of(tmp_path, text) == (
        f"{line_of(text, 'id: northwind-it')}: partners.0: partner northwind-it has no contact "
        "channel: give it an email, a phone or a url (P2: referred customers are told how to "
        "reach their partner)"
    )


def test_a_partner_web_address_must_be_a_url(tmp_path: Path) -> None:
    text = mutate("url: https://support.northwind.example", "url: support.northwind.example")
    message = refusal_of(tmp_path, text)
    assert message.startswith(f"{line_of(text, 'url: support')}: partners.0.url: ")


def test_partner_ids_share_the_id_space(tmp_path: Path) -> None:
    """Ids are unique across accounts, contacts, engineers, managers and partners."""
    text = mutate("  - id: northwind-it\n", "  - id: globex\n").replace(
        "partner: northwind-it", "partner: globex"
    )
    assert refusal_of(tmp_path, text) == (
        f"{line_of(DEMO, '  - id: northwind-it')}: partners.0.id: id 'globex' is used twice "
        "(account and partner); ids are unique"
    )


def test_the_store_keeps_partners_and_par_accounts(tmp_path: Path) -> None:
    """A4: the database knows which account bought through which partner, and the partner's
    channels for a referral (P2)."""
    store = Store(f"sqlite:///{tmp_path / 'casework.db'}")
    try:
        store.directory.replace(load_directory(DEMO_DIRECTORY))
        soylent = store.directory.account("soylent")
        assert soylent is not None and soylent.partner == "northwind-it"
        assert store.directory.account("acme").partner is None  # type: ignore[union-attr]
        partner = store.directory.partner("northwind-it")
        assert partner == load_directory(DEMO_DIRECTORY).partners[0]
        assert store.directory.partner("contoso") is None
    finally:
        store.dispose()


def test_a_database_from_before_partners_gets_the_column(tmp_path: Path) -> None:
    """An existing state folder keeps working: accounts gain `partner`, partners and referrals
    get their tables, and the old rows are direct accounts."""
    db = tmp_path / "casework.db"
    with sqlite3.connect(db) as conn:
        conn.execute(
            "CREATE TABLE accounts (id VARCHAR(64) PRIMARY KEY, name VARCHAR(200) NOT NULL, "
            "tier VARCHAR(16) NOT NULL, users INTEGER NOT NULL)"
        )
        conn.execute("INSERT INTO accounts VALUES ('initech', 'Initech', 'GOLD', 40)")
        conn.execute(
            "CREATE TABLE contacts (id VARCHAR(64) PRIMARY KEY, account_id VARCHAR(64) NOT NULL, "
            "name VARCHAR(200) NOT NULL)"
        )
        conn.execute("INSERT INTO contacts VALUES ('initech-peter', 'initech', 'Peter Gibbons')")
    store = Store(f"sqlite:///{db}")
    try:
        assert store.directory.account("initech").partner is None  # type: ignore[union-attr]
        assert store.intake.referrals() == []
        store.directory.replace(load_directory(DEMO_DIRECTORY))
        assert store.directory.account("soylent").partner == "northwind-it"  # type: ignore[union-attr]
    finally:
        store.dispose()


# --- the partner's own engineers (P3) ----------------------------------------------------------


def test_the_demo_partner_has_engineers_at_l0_to_l2() -> None:
    """P3: Northwind's engineers deliver L0, L1 and L2 for Northwind's cases."""
    directory = load_directory(DEMO_DIRECTORY)
    theirs = [(e.id, e.level.value) for e in directory.engineers if e.partner == "northwind-it"]
    assert theirs == [("nw-nora", "L0"), ("nw-omar", "L1"), ("nw-pia", "L2")]


def test_a_partner_engineer_at_l3_is_refused_at_its_line(tmp_path: Path) -> None:
    """P3/P4: partners deliver L0-L2; L3 is the vendor's escalation team."""
    text = mutate(
        "{id: nw-pia, name: Pia Lund, level: L2", "{id: nw-pia, name: Pia Lund, level: L3"
    )
    message = refusal_of(tmp_path, text)
    assert message.startswith(f"{line_of(text, 'id: nw-pia')}: engineers.")
    assert message.endswith(
        ".level: engineer nw-pia of partner northwind-it is L3: partners deliver L0-L2 and "
        "escalate to our L3 (P3, P4); make it L0, L1 or L2"
    )


def test_an_engineer_of_an_unknown_partner_is_refused_at_its_line(tmp_path: Path) -> None:
    """P3: a partner engineer works for one of the directory's partners."""
    text = mutate("email: nora@northwind.example, partner: northwind-it", "partner: contoso")
    message = refusal_of(tmp_path, text)
    assert message.startswith(f"{line_of(text, 'id: nw-nora')}: engineers.")
    assert message.endswith(
        ".partner: engineer nw-nora works for partner contoso, which is not among the "
        "directory's partners (known: northwind-it)"
    )


def test_partner_engineers_are_kept_in_an_older_database(tmp_path: Path) -> None:
    """An existing state folder gains the engineers' partner column on open."""
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE engineers (id VARCHAR(64) PRIMARY KEY, name VARCHAR(200))")
    store = Store(f"sqlite:///{path}")
    try:
        store.directory.replace(load_directory(DEMO_DIRECTORY))
        nora = store.directory.engineer("nw-nora")
        assert nora is not None and nora.partner == "northwind-it"
    finally:
        store.dispose()
