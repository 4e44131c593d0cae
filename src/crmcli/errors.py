"""Errors a user can cause, each with the exit code the command line ends with.

Front ends translate them: the CLI prints one line on stderr and exits with `exit_code`,
the TUI shows a notification. Anything else escaping a command is an internal error (1).
"""

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    INTERNAL = 1
    USAGE = 2
    NOT_FOUND = 3
    INVALID = 4
    CONFLICT = 5
    PERMISSION_DENIED = 6


class CrmError(Exception):
    exit_code = ExitCode.INTERNAL


class UsageError(CrmError):
    """The command cannot run as asked (no database yet, no acting user, bad option mix)."""

    exit_code = ExitCode.USAGE


class NotFound(CrmError):
    exit_code = ExitCode.NOT_FOUND


class Ambiguous(CrmError):
    """A reference matched several records; `candidates` lists them for the user to pick."""

    exit_code = ExitCode.NOT_FOUND

    def __init__(self, message: str, candidates: list[str]):
        super().__init__(message)
        self.candidates = candidates


class Invalid(CrmError):
    """A value was refused; `field` names it so every front end can point at it."""

    exit_code = ExitCode.INVALID

    def __init__(self, message: str, field: str | None = None):
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.reason = message


class Duplicate(Invalid):
    """The duplicate guard refused a customer: `found` says which one it matches. The
    message ends with the command line's way out; another front end phrases its own
    from `found` (the dashboard points at its "keep it" checkbox)."""

    def __init__(self, found: str):
        super().__init__(f"{found}; pass --allow-duplicate to keep both", "duplicate")
        self.found = found


class Conflict(CrmError):
    exit_code = ExitCode.CONFLICT


class PermissionDenied(CrmError):
    exit_code = ExitCode.PERMISSION_DENIED


class Unavailable(CrmError):
    """The shared database cannot be reached (or the connection broke); nothing changed.

    Not the user's data and not a bug, but the documented codes stop at 6, so it ends like
    any other failure of the machinery (1), with its own one-line message."""

    exit_code = ExitCode.INTERNAL


class StorageFailed(CrmError):
    """The local database failed under a read or a write (a full disk, a file made
    read-only, an I/O error): nothing was changed. The dashboard says so and carries on;
    like any failure of the machinery it is exit code 1."""

    exit_code = ExitCode.INTERNAL
