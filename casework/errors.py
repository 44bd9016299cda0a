"""The exception every casework refusal a user can act on is, without importing anything."""

from __future__ import annotations


class CaseworkError(Exception):
    """A refusal or a problem the user can act on; the message says what and how."""
