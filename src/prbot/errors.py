"""Error hierarchy and the stable exit-code table.

Users' pipelines branch on our exit codes, so they live in one place and never change meaning.
Every expected failure is a :class:`PrbotError` carrying its code and a one-line, actionable
message; the CLI's single error handler turns it into that line and that code, never a traceback.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Documented process exit codes (see docs/exit-codes.md)."""

    OK = 0
    #: The pipeline decided "changes requested" / a gate failed (``--fail-on``).
    GATE_FAILED = 1
    #: Bad usage, bad input (diff, repo, base) or an invalid configuration.
    USAGE = 2
    #: A platform or model was unavailable after retries (or the key was missing/refused).
    UNAVAILABLE = 3
    #: A bug in prbot: an unexpected exception (details in the crash log).
    INTERNAL = 4
    #: Interrupted by the user (Ctrl-C).
    INTERRUPTED = 130


class PrbotError(Exception):
    """An expected failure with a one-line message that says what to do next."""

    exit_code: ExitCode = ExitCode.USAGE

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def one_line(self) -> str:
        """The message and hint on one line, as printed by the CLI."""
        return f"{self.message} ({self.hint})" if self.hint else self.message


class UsageError(PrbotError):
    """Wrong options or arguments."""


class ConfigError(PrbotError):
    """``.prbot.yml`` is missing a required piece, malformed or invalid."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        key: str | None = None,
        hint: str | None = None,
    ) -> None:
        where = file or "<config>"
        if line is not None:
            where = f"{where}:{line}"
        prefix = f"{where}: " if file or line is not None else ""
        keypart = f"{key}: " if key else ""
        super().__init__(f"{prefix}{keypart}{message}", hint=hint)
        self.file = file
        self.line = line
        self.key = key
        #: Every problem found, one line each (``prbot config validate`` prints them all).
        self.details: list[str] = []


class DiffError(PrbotError):
    """The diff could not be read or parsed at all."""


class GitError(PrbotError):
    """Not a git repository, unknown base branch, or git failed."""


class ModelError(PrbotError):
    """The model could not be reached, refused the key, or timed out after retries."""

    exit_code = ExitCode.UNAVAILABLE


class PlatformError(PrbotError):
    """A forge API failed after retries, or refused the credentials."""

    exit_code = ExitCode.UNAVAILABLE


class AuditError(PrbotError):
    """The audit store could not be written or its chain does not verify."""

    exit_code = ExitCode.GATE_FAILED
