"""Who may have US Citizen Support and who may work it (A3, U1, U2, U7): the directory file,
the store's account command and the citizenship proof of engineers."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from pydantic import ValidationError
from temporalio.testing import ActivityEnvironment

from activities.directory import DirectoryActivities
from casework.contracts import ViewerCheck
from casework.domain.directory import CitizenshipProof, Directory, Engineer
from casework.domain.sla import DEFAULT_POLICY
from casework.domain.tiers import GOLD
from casework.domain.us_citizen import is_restricted_member, restricted_member_refusal
from casework.engine import load_directory
from casework.settings import DEMO_DIRECTORY
from casework.store import Store
from casework.yamlfiles import FileRefused

DEMO = DEMO_DIRECTORY.read_text(encoding="utf-8")
LOCATIONS = ["reston-va", "sunnyvale-ca"]


def line_of(text: str, needle: str) -> int:
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in the file")


def mutate(old: str, new: str, text: str = DEMO) -> str:
    assert old in text, f"the demo directory no longer has {old!r}"
    return text.replace(old, new, 1)


def refusal_of(tmp_path: Path, text: str) -> str:
    path = tmp_path / "directory.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(FileRefused) as refused:
        load_directory(path)
    return str(refused.value).removeprefix(f"{path}:")


CYBERDYNE_TIER = "name: Cyberdyne Federal Systems\n    tier: PLATINUM"


# --- accounts (A3, U1) ---------------------------------------------------------------------------


def test_the_demo_directory_flags_cyberdyne_only() -> None:
    """U1: the flag is on the Platinum account that bought the add-on, with its zone (U4)."""
    directory = load_directory(DEMO_DIRECTORY)
    flagged = {a.id: a.zone for a in directory.accounts if a.us_citizen_support}
    assert flagged == {"cyberdyne": "America/New_York"}


def test_a_gold_account_flagged_for_us_citizen_support_is_refused_with_the_line(
    tmp_path: Path,
) -> None:
    """A3/U1: a Gold account with the flag is refused, with the account's line and "upgrade to
    Platinum first"; nothing of the file is loaded."""
    text = mutate(CYBERDYNE_TIER, "name: Cyberdyne Federal Systems\n    tier: GOLD")
    message = refusal_of(tmp_path, text)
    assert message == (
        f"{line_of(text, 'id: cyberdyne')}: accounts.2: account cyberdyne is GOLD: US Citizen "
        "Support is a Platinum offering, upgrade to Platinum first (A3)"
    )


def test_a_flagged_platinum_account_without_a_zone_is_refused(tmp_path: Path) -> None:
    """U1/U4: business hours run in the customer's zone; a flagged account must name it."""
    message = refusal_of(tmp_path, mutate("    zone: eastern\n", ""))
    assert message.startswith(f"{line_of(DEMO, 'id: cyberdyne')}: accounts.2: ")
    assert "give the account a zone: eastern or pacific (U4)" in message


def test_a_flagged_account_with_an_unknown_zone_is_refused(tmp_path: Path) -> None:
    message = refusal_of(tmp_path, mutate("zone: eastern", "zone: Mars/Olympus"))
    assert f"{line_of(DEMO, 'zone: eastern')}: accounts.2.zone: " in message
    assert "unknown time zone 'Mars/Olympus'" in message


def test_flagging_a_gold_account_in_the_store_is_refused_and_changes_nothing(
    store: Store,
) -> None:
    """A3/U1: the command that changes an account refuses a Gold account; the account keeps
    its tier, flag and zone."""
    before = store.directory.account("globex")
    assert before is not None and before.tier == GOLD
    with pytest.raises(ValueError, match="upgrade to Platinum first"):
        store.directory.set_us_citizen_support("globex", True, zone="eastern")
    assert store.directory.account("globex") == before
    assert not store.directory.account("globex").us_citizen_support  # type: ignore[union-attr]


def test_flagging_a_platinum_account_without_a_zone_is_refused(store: Store) -> None:
    before = store.directory.account("acme")
    with pytest.raises(ValueError, match="give the account a zone"):
        store.directory.set_us_citizen_support("acme", True)
    assert store.directory.account("acme") == before


def test_flagging_and_unflagging_a_platinum_account(store: Store) -> None:
    """U1: a Platinum account with a zone takes the flag; unflagging keeps the zone."""
    flagged = store.directory.set_us_citizen_support("acme", True, zone="pacific")
    assert flagged.us_citizen_support and flagged.zone == "America/Los_Angeles"
    assert store.directory.account("acme") == flagged
    store.directory.set_us_citizen_support("acme", False)
    after = store.directory.account("acme")
    assert after is not None and not after.us_citizen_support
    with pytest.raises(ValueError, match="unknown account"):
        store.directory.set_us_citizen_support("initech", True, zone="eastern")


# --- engineers: citizenship proof (U2) and location (U7) ---------------------------------------


def proof(**fields: object) -> CitizenshipProof:
    return CitizenshipProof.model_validate(
        {"verified_by": "hr-lee", "verified_on": date(2026, 1, 12), **fields}
    )


def test_a_us_passport_is_proof() -> None:
    assert proof(proof="us_passport").proof == "us_passport"


def test_a_birth_certificate_with_a_photo_id_is_proof() -> None:
    assert proof(proof="us_birth_certificate", photo_id="Virginia driver license").photo_id


def test_a_birth_certificate_without_a_photo_id_is_refused_with_the_reason() -> None:
    """U2: a US birth certificate proves citizenship only together with a photo ID."""
    with pytest.raises(ValidationError) as refused:
        proof(proof="us_birth_certificate")
    assert "only together with a government-issued photo ID" in str(refused.value)


@pytest.mark.parametrize("kind", ["drivers_license", "green_card", ""])
def test_an_unknown_proof_type_is_refused(kind: str) -> None:
    """U2: only the two kinds of proof the service description names count."""
    with pytest.raises(ValidationError) as refused:
        proof(proof=kind)
    assert "'us_passport' or 'us_birth_certificate'" in str(refused.value)


def test_proof_without_who_verified_it_is_refused() -> None:
    with pytest.raises(ValidationError, match="verified_by"):
        CitizenshipProof.model_validate({"proof": "us_passport", "verified_on": "2026-01-12"})


def test_a_birth_certificate_without_photo_id_in_the_directory_file_is_refused(
    tmp_path: Path,
) -> None:
    """U2: the directory file names the engineer's line and the reason."""
    text = mutate(
        "proof: us_birth_certificate, photo_id: Virginia driver license,",
        ("proof: us_birth_certificate,"),
    )
    message = refusal_of(tmp_path, text)
    assert "engineers.6.citizenship" in message
    assert f"{line_of(text, 'proof: us_birth_certificate')}:" in message
    assert "government-issued photo ID" in message


def engineer(**fields: object) -> Engineer:
    return Engineer.model_validate(
        {"id": "usc-zed", "name": "Zed Ray", "level": "L1", "skills": ["FortiGate"], **fields}
    )


def test_restricted_membership_needs_proof_and_an_authorised_location() -> None:
    """U2/U7: verified and at an authorised location: a member; anything less: not, with the
    reason."""
    passport = {"proof": "us_passport", "verified_by": "hr-lee", "verified_on": "2026-01-12"}
    member = engineer(citizenship=passport, work_location="reston-va")
    assert restricted_member_refusal(member, LOCATIONS) is None
    assert is_restricted_member(member, LOCATIONS)

    abroad = engineer(citizenship=passport, work_location="dublin-ie")
    assert restricted_member_refusal(abroad, LOCATIONS) == (
        "usc-zed works from dublin-ie, not an authorised location (U7)"
    )
    nowhere = engineer(citizenship=passport)
    assert restricted_member_refusal(nowhere, LOCATIONS) == (
        "usc-zed works from no recorded location, not an authorised location (U7)"
    )
    unverified = engineer(work_location="reston-va")
    assert restricted_member_refusal(unverified, LOCATIONS) == (
        "usc-zed has no verified proof of US citizenship (U2)"
    )
    assert not any(is_restricted_member(e, LOCATIONS) for e in (abroad, nowhere, unverified))


def test_the_store_counts_only_verified_engineers_at_authorised_locations(
    store: Store, directory: Directory
) -> None:
    """U2/U7: the restricted queue's members, as routing and reads check them."""
    assert set(store.directory.restricted_members()) == {
        "usc-kara",
        "usc-liam",
        "usc-maya",
        "usc-noah",
    }
    engineers = [
        e.model_copy(update={"work_location": "dublin-ie"})
        if e.id == "usc-maya"
        else e.model_copy(update={"citizenship": None})
        if e.id == "usc-liam"
        else e
        for e in directory.engineers
    ]
    store.directory.replace(directory.model_copy(update={"engineers": engineers}))
    assert set(store.directory.restricted_members()) == {"usc-kara", "usc-noah"}
    # the one-person check the door and the codec ask on every request says the same
    people = [e.id for e in engineers] + ["acme-alice", "mallory"]
    assert {p for p in people if store.directory.is_restricted_member(p)} == {
        "usc-kara",
        "usc-noah",
    }

    check = DirectoryActivities(store, DEFAULT_POLICY).check_viewer
    run = ActivityEnvironment().run
    assert run(check, ViewerCheck(viewer="usc-kara")).member
    maya = run(check, ViewerCheck(viewer="usc-maya"))
    assert not maya.member and "not an authorised location (U7)" in maya.reason
    liam = run(check, ViewerCheck(viewer="usc-liam"))
    assert not liam.member and "no verified proof of US citizenship" in liam.reason
    dana = run(check, ViewerCheck(viewer="cc-dana"))
    assert not dana.member and dana.reason == "cc-dana has no verified proof of US citizenship (U2)"
    stranger = run(check, ViewerCheck(viewer="mallory"))
    assert not stranger.member and "not an engineer of the restricted queue" in stranger.reason
