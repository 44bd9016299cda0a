"""The directory file: accounts, contacts, products, engineers and the Escalation Manager rota.

A directory that breaks a rule is refused whole, with `file:line: path: reason`, and the
engine's database keeps the directory it had.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from casework.domain.directory import Directory
from casework.domain.models import Level
from casework.domain.tiers import GOLD, PLATINUM
from casework.engine import load_directory, open_store
from casework.settings import DEMO_DIRECTORY, Settings
from casework.yamlfiles import FileRefused

DEMO = DEMO_DIRECTORY.read_text(encoding="utf-8")


def line_of(text: str, needle: str) -> int:
    """1-based line of the first line containing `needle`."""
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in the file")


def refusal_of(tmp_path: Path, text: str) -> str:
    path = tmp_path / "directory.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(FileRefused) as refused:
        load_directory(path)
    message = str(refused.value)
    prefix = f"{path}:"
    assert message.startswith(prefix), message
    return message.removeprefix(prefix)


def mutate(old: str, new: str) -> str:
    assert old in DEMO, f"the demo directory no longer has {old!r}"
    return DEMO.replace(old, new, 1)


def test_the_demo_directory_loads() -> None:
    """A1/E1/E3: two accounts (Platinum and Gold), three products, L0-L3 engineers and a
    two-manager rota."""
    directory = load_directory(DEMO_DIRECTORY)
    assert directory.products == ["FortiGate", "FortiAnalyzer", "FortiManager"]
    tiers = {a.id: a.tier for a in directory.accounts}
    assert tiers == {
        "acme": PLATINUM,
        "globex": GOLD,
        "cyberdyne": PLATINUM,
        "soylent": GOLD,
    }
    assert {e.level for e in directory.engineers} == set(Level)
    assert [m.id for m in directory.escalation_managers] == ["em-ines", "em-jon"]
    acme = next(a for a in directory.accounts if a.id == "acme")
    assert [c.id for c in acme.contacts] == ["acme-alice", "acme-bob"]


def test_platinum_with_fewer_than_250_users_is_refused(tmp_path: Path) -> None:
    """A1: Platinum is sold to accounts of 250 or more users; the refusal points at the
    account."""
    message = refusal_of(tmp_path, mutate("users: 1200", "users: 249"))
    assert message == (
        f"{line_of(DEMO, 'id: acme')}: accounts.0: account acme has 249 users; Platinum is sold "
        "to accounts of 250 or more users (A1): make it GOLD or correct the count"
    )


def test_platinum_with_exactly_250_users_loads(tmp_path: Path) -> None:
    """A1: 250 users is enough for Platinum."""
    path = tmp_path / "directory.yaml"
    path.write_text(mutate("users: 1200", "users: 250"), encoding="utf-8")
    assert load_directory(path).accounts[0].users == 250


def test_a_duplicate_id_is_refused_at_the_second_use(tmp_path: Path) -> None:
    """Ids are unique across accounts, contacts, engineers and managers: the refusal names the
    line of the duplicate."""
    text = mutate("id: gsc-farid", "id: gsc-erin")
    message = refusal_of(tmp_path, text)
    assert message == (
        f"{line_of(DEMO, 'id: gsc-farid')}: engineers.2.id: id 'gsc-erin' is used twice "
        "(engineer and engineer); ids are unique"
    )


def test_an_engineer_may_not_share_an_id_with_a_contact(tmp_path: Path) -> None:
    text = mutate("id: cc-dana", "id: acme-bob")
    message = refusal_of(tmp_path, text)
    assert message == (
        f"{line_of(DEMO, 'id: cc-dana')}: engineers.0.id: id 'acme-bob' is used twice "
        "(contact and engineer); ids are unique"
    )


def test_an_unknown_level_is_refused(tmp_path: Path) -> None:
    """E1: levels are L0 to L3."""
    message = refusal_of(tmp_path, mutate("level: L2", "level: L4"))
    assert message == (
        f"{line_of(DEMO, 'gsc-grace')}: engineers.3.level: Input should be 'L0', 'L1', 'L2' or 'L3'"
    )


def test_a_contact_without_id_is_refused(tmp_path: Path) -> None:
    message = refusal_of(tmp_path, mutate("{id: acme-bob, name: Bob Li", "{name: Bob Li"))
    assert message == f"{line_of(DEMO, 'acme-bob')}: accounts.0.contacts.1.id: Field required"


def test_a_bad_time_zone_is_refused(tmp_path: Path) -> None:
    """E1/E3: shifts are in IANA zones."""
    text = mutate('shift: {zone: UTC, start: "12:00"', 'shift: {zone: Mars/Olympus, start: "12:00"')
    message = refusal_of(tmp_path, text)
    assert message == (
        f"{line_of(text, 'Mars/Olympus')}: escalation_managers.1.shift.zone: unknown time zone "
        "'Mars/Olympus'; use an IANA name like America/New_York"
    )


def test_a_bad_weekday_is_refused(tmp_path: Path) -> None:
    text = mutate(
        'shift: {zone: UTC, start: "00:00"',
        'shift: {zone: UTC, days: [mon, funday], start: "00:00"',
    )
    message = refusal_of(tmp_path, text)
    assert message == (
        f"{line_of(text, 'funday')}: escalation_managers.0.shift.days: days must be among "
        "mon, tue, wed, thu, fri, sat, sun; got ['fun']"
    )


def test_an_empty_escalation_manager_rota_is_refused(tmp_path: Path) -> None:
    """E3/S3: Escalation Managers are on duty 24x7; a directory without one cannot alert."""
    text = "products: [FortiGate]\n\nescalation_managers: []\n"
    message = refusal_of(tmp_path, text)
    assert message.startswith("3: escalation_managers: List should have at least 1 item")


def test_a_directory_without_products_is_refused(tmp_path: Path) -> None:
    """A5: a case is for a product; a directory without products cannot take cases."""
    text = "# no products yet\nproducts: []\nescalation_managers:\n  - {id: em-a, name: A}\n"
    message = refusal_of(tmp_path, text)
    assert message.startswith("2: products: List should have at least 1 item")


def test_an_unknown_setting_is_refused_at_its_line(tmp_path: Path) -> None:
    text = mutate("    tier: PLATINUM\n", "    tier: PLATINUM\n    csm: true\n")
    message = refusal_of(tmp_path, text)
    assert (
        message == f"{line_of(text, 'csm: true')}: accounts.0.csm: Extra inputs are not permitted"
    )


# --- what the YAML itself says (casework.yamlfiles) ------------------------------------------

SECOND_ENGINEERS = (
    "\nengineers:\n  - {id: gsc-zed, name: Zed Ames, level: L1, skills: [FortiGate]}\n"
)


def test_a_directory_that_writes_engineers_twice_is_refused_naming_both_lines(
    tmp_path: Path,
) -> None:
    """A second `engineers:` block used to replace the first silently (PyYAML kept the last
    key): the directory was half-applied, without the restricted queue (U2). Now the file is
    refused at the second key, naming both lines."""
    text = DEMO + SECOND_ENGINEERS
    first, second = line_of(DEMO, "engineers:"), len(DEMO.splitlines()) + 2
    assert text.splitlines()[second - 1] == "engineers:"
    assert refusal_of(tmp_path, text) == (
        f"{second}: engineers: written twice in one mapping (lines {first} and {second}); keep one"
    )


def test_an_engineer_with_a_key_written_twice_is_refused_naming_both_lines(
    tmp_path: Path,
) -> None:
    """E1: an engineer whose `skills` are written twice would have lost the first list."""
    old = "    skills: [FortiGate, FortiAnalyzer, FortiManager, security]\n    email: maya@"
    new = (
        "    skills: [FortiGate, FortiAnalyzer, FortiManager, security]\n"
        "    skills: [FortiGate]\n    email: maya@"
    )
    text = mutate(old, new)
    first = line_of(text, "email: maya@") - 2
    assert refusal_of(tmp_path, text) == (
        f"{first + 1}: engineers.7.skills: written twice in one mapping (lines {first} and "
        f"{first + 1}); keep one"
    )


def test_anchors_and_aliases_still_load(tmp_path: Path) -> None:
    """A shift written once and reused with an alias means what it meant."""
    text = mutate(
        'shift: {zone: UTC, start: "00:00", end: "12:00"}',
        'shift: &mornings {zone: UTC, start: "00:00", end: "12:00"}',
    ).replace('shift: {zone: UTC, start: "12:00", end: "00:00"}', "shift: *mornings")
    path = tmp_path / "directory.yaml"
    path.write_text(text, encoding="utf-8")
    ines, jon = load_directory(path).escalation_managers
    assert jon.shift == ines.shift and str(jon.shift.start) == "00:00:00"


def test_a_directory_that_is_not_utf8_is_refused_at_the_bad_byte(tmp_path: Path) -> None:
    path = tmp_path / "directory.yaml"
    path.write_bytes(DEMO.replace("Globex Retail", "Globex R\xe9tail").encode("latin-1"))
    with pytest.raises(FileRefused) as refused:
        load_directory(path)
    assert str(refused.value) == (
        f"{path}:{line_of(DEMO, 'Globex Retail')}: not UTF-8 text (byte 0xe9 at column 19); "
        "save the file as UTF-8"
    )


def test_a_huge_directory_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "directory.yaml"
    path.write_text(DEMO + "#" * 1_000_000 + "\n", encoding="utf-8")
    with pytest.raises(FileRefused) as refused:
        load_directory(path)
    assert str(refused.value) == (
        f"{path}: longer than 1,000,000 bytes, too long for a settings file; is it the right file?"
    )


def test_aliases_that_expand_without_end_are_refused(tmp_path: Path) -> None:
    """A "billion laughs" file: nine aliases of nine aliases of ... would be 10^9 values."""
    bomb = ['a0: &a0 ["x"]'] + [
        f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 9)}]" for n in range(1, 10)
    ]
    text = DEMO + "\n".join(bomb) + "\n"
    message = refusal_of(tmp_path, text)
    assert message == (
        " its aliases (*name) expand to more than 500,000 values, too many for a settings "
        "file; write the repeated parts out, or fewer of them"
    )


# --- the engine keeps its directory when a file is refused ------------------------------------


def dump(db: Path) -> list[str]:
    """Every row of every table, as SQL."""
    with sqlite3.connect(db) as conn:
        return list(conn.iterdump())


def test_a_refused_directory_file_changes_nothing(tmp_path: Path) -> None:
    """A directory that breaks a rule is refused whole: the database keeps the directory it had,
    row for row."""
    state = tmp_path / "state"
    good = tmp_path / "good.yaml"
    good.write_text(mutate("name: Globex Retail", "name: Globex Stores"), encoding="utf-8")
    settings = Settings.from_env(state_dir=state, directory_file=good)
    store = open_store(settings)
    assert store.directory.account("globex").name == "Globex Stores"  # type: ignore[union-attr]
    store.dispose()
    before = dump(state / "casework.db")

    bad = tmp_path / "bad.yaml"
    bad.write_text(
        mutate("name: Globex Retail", "name: Globex Stores")
        .replace("users: 1200", "users: 12")
        .replace("FortiManager\n", "FortiSwitch\n", 1),
        encoding="utf-8",
    )
    with pytest.raises(FileRefused, match=r"bad\.yaml:\d+: accounts\.0: .*\(A1\)"):
        open_store(Settings.from_env(state_dir=state, directory_file=bad))

    assert dump(state / "casework.db") == before
    again = open_store(Settings.from_env(state_dir=state))
    try:
        assert again.directory.account("globex").name == "Globex Stores"  # type: ignore[union-attr]
        assert again.directory.account("acme").users == 1200  # type: ignore[union-attr]
        assert "FortiSwitch" not in again.directory.product_names()
    finally:
        again.dispose()


def test_a_directory_with_a_key_written_twice_changes_nothing(tmp_path: Path) -> None:
    """Refused before anything runs: the database keeps its directory, row for row."""
    state = tmp_path / "state"
    open_store(Settings.from_env(state_dir=state)).dispose()
    before = dump(state / "casework.db")
    twice = tmp_path / "twice.yaml"
    twice.write_text(DEMO + SECOND_ENGINEERS, encoding="utf-8")
    with pytest.raises(FileRefused, match=r"twice\.yaml:\d+: engineers: written twice"):
        open_store(Settings.from_env(state_dir=state, directory_file=twice))
    assert dump(state / "casework.db") == before


def test_the_demo_directory_is_loaded_on_first_run_only(tmp_path: Path) -> None:
    """A later start without a directory file keeps what the operator loaded."""
    state = tmp_path / "state"
    store = open_store(Settings.from_env(state_dir=state))
    assert store.directory.product_names() == ["FortiGate", "FortiAnalyzer", "FortiManager"]
    store.directory.replace(
        Directory.model_validate(
            {"products": ["FortiWeb"], "escalation_managers": [{"id": "em-z", "name": "Z"}]}
        )
    )
    store.dispose()
    store = open_store(Settings.from_env(state_dir=state))
    try:
        assert store.directory.product_names() == ["FortiWeb"]
    finally:
        store.dispose()
