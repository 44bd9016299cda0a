"""The data converter of a deployment: its key ring, and the realms in its database.

Every client and worker of one deployment (the worker, `casework up`, the CLI, the door) builds
its converter here, so they all encrypt and decrypt alike. It joins the codec (below the store)
to the store's realm lookup, so it sits above both (it was casework.codec.engine).
"""

from __future__ import annotations

import threading
from pathlib import Path

from temporalio.converter import DataConverter

from casework.codec.payload import data_converter
from casework.codec.realm import Realm
from casework.identity.keyring import KeyRing, load_keyring
from casework.settings import Settings
from casework.store import Store


class StoreRealms:
    """The realm lookup over the deployment's database, opened on the first lookup (a client
    that only reads never opens it)."""

    def __init__(self, db_url: str, store: Store | None = None) -> None:
        self.db_url = db_url
        self.store = store
        self._opening = threading.Lock()

    def __call__(self, workflow_id: str) -> Realm | None:
        if self.store is None:
            with self._opening:
                if self.store is None:
                    if _missing_sqlite_file(self.db_url):
                        return None  # a client away from the engine's database: fail closed
                    self.store = Store(self.db_url)
        return self.store.realms.lookup(workflow_id)


def _missing_sqlite_file(url: str) -> bool:
    """A client never creates the engine's database by looking a realm up."""
    prefix = "sqlite:///"
    return url.startswith(prefix) and not Path(url.removeprefix(prefix)).exists()


def keyring_for(settings: Settings, *, create: bool = False) -> KeyRing:
    """The deployment's ring (CASEWORK_KEYRING, CASEWORK_KEYRING_FILE, or the state folder's).
    Only the engine (`casework up`, the worker) makes one on first use: a client that made its
    own would encrypt what the engine's worker cannot decrypt (KeyRingError says where to look
    instead)."""
    return load_keyring(settings.state_dir, create=create)


def converter_for(
    settings: Settings,
    *,
    store: Store | None = None,
    ring: KeyRing | None = None,
    create_ring: bool = False,
) -> DataConverter:
    ring = ring or keyring_for(settings, create=create_ring)
    return data_converter(ring, StoreRealms(settings.db_url, store))
