"""Domain exceptions shared by every part of kb.

Front ends translate them at their boundary: the CLI prints one line and exits
non-zero, the API maps ``code`` to an HTTP status and the one JSON error body.
"""

from __future__ import annotations


class KbError(Exception):
    """Base class of every error kb reports to a user (never a traceback)."""

    code = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(KbError):
    """The caller's input is malformed or out of bounds; nothing was changed."""

    code = "invalid_input"


class NotFound(KbError):
    """The named article, version, user or key does not exist (or is not visible)."""

    code = "not_found"


class Forbidden(KbError):
    """The actor lacks the role, scope or audience for this action."""

    code = "forbidden"


class Unauthorized(KbError):
    """No valid credentials were given."""

    code = "unauthorized"


class Conflict(KbError):
    """The action was made against stale state (e.g. a concurrent edit)."""

    code = "conflict"


class ConfigError(KbError):
    """A setting is unknown, has the wrong type, or the config file is unreadable."""

    code = "config_error"


class NotReady(KbError):
    """A required resource (index, model) is not available yet."""

    code = "not_ready"
