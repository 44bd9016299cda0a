"""Starting the engine's parts from settings: the database with its directory, the policy."""

from __future__ import annotations

from pathlib import Path

from casework.domain.directory import Directory
from casework.domain.sla import DEFAULT_POLICY, SlaPolicy
from casework.domain.tiers import under
from casework.settings import DEMO_DIRECTORY, Settings
from casework.store import Store
from casework.yamlfiles import load_model


def load_policy(settings: Settings) -> SlaPolicy:
    """S5: the policy file if one is named, else the S1 table. Raises FileRefused."""
    if settings.policy_file is None:
        return DEFAULT_POLICY
    return load_model(settings.policy_file, SlaPolicy)


def load_directory(path: Path, policy: SlaPolicy = DEFAULT_POLICY) -> Directory:
    """The directory at `path`, checked against `policy`'s tiers (A1, A3: an account of a tier
    it does not sell is refused at the account's line). Raises FileRefused with the line and
    the reason."""
    return load_model(path, Directory, under(policy.tier_rules()))


def open_store(settings: Settings, *, create_ring: bool = True) -> Store:
    """The database, with a directory in it: the named file (validated first, against the
    policy, replacing the loaded one), or the demo directory on first run. Restricted rows
    are sealed with the deployment's key ring; `create_ring`: make the state folder's ring if
    there is none (the embedded engine; a worker of a deployment must be given the
    deployment's ring)."""
    settings.ensure_state_dir()
    directory = None
    policy = load_policy(settings)
    if settings.directory_file is not None:
        directory = load_directory(settings.directory_file, policy)
    from casework.identity.keyring import load_keyring

    store = Store(settings.db_url, load_keyring(settings.state_dir, create=create_ring))
    if directory is not None:
        store.directory.replace(directory)
    elif not store.directory.is_loaded():
        store.directory.replace(load_directory(DEMO_DIRECTORY, policy))
    return store
