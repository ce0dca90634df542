"""The one error handler around every command.

Expected failures (:class:`PrbotError`) become one line on stderr and their documented exit code.
Anything else is a bug: the user gets one line pointing at a crash log (traceback with secrets
redacted, versions) instead of a raw traceback in their CI log.
"""

from __future__ import annotations

import contextlib
import os
import platform
import sys
import tempfile
import traceback
from collections.abc import Iterator
from pathlib import Path

from prbot import __version__
from prbot.errors import ExitCode, PrbotError


def error_line(message: str) -> None:
    sys.stderr.write(f"prbot: error: {message}\n")


def warn_line(message: str) -> None:
    sys.stderr.write(f"prbot: warning: {message}\n")


def _redact(text: str) -> str:
    try:
        from prbot.review.secrets import redact

        return redact(text)[0]
    except Exception:
        return text


def write_crash_log(exc: BaseException) -> Path | None:
    body = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    text = (
        f"prbot {__version__} crashed\n"
        f"python {platform.python_version()} on {platform.platform()}\n"
        f"argv: {' '.join(sys.argv[1:])}\n\n{_redact(body)}"
    )
    folder = Path(os.environ.get("PRBOT_CRASH_DIR") or tempfile.gettempdir())
    try:
        fd, name = tempfile.mkstemp(prefix="prbot-crash-", suffix=".log", dir=folder)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        return Path(name)
    except OSError:
        return None


@contextlib.contextmanager
def handled() -> Iterator[None]:
    """Map exceptions to exit codes; used by :func:`prbot.cli.main.main`."""
    try:
        yield
    except PrbotError as exc:
        error_line(exc.one_line())
        raise SystemExit(int(exc.exit_code)) from None
    except KeyboardInterrupt:
        error_line("interrupted")
        raise SystemExit(int(ExitCode.INTERRUPTED)) from None
    except BrokenPipeError:
        # `prbot review | head`: the reader went away; not an error of ours.
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115
        raise SystemExit(int(ExitCode.OK)) from None
    except (SystemExit, GeneratorExit):
        raise
    except Exception as exc:
        log = write_crash_log(exc)
        where = f"; details in {log}" if log else ""
        error_line(
            f"internal error: {type(exc).__name__}: {_redact(str(exc))[:200]}{where} (please report it)"
        )
        raise SystemExit(int(ExitCode.INTERNAL)) from None
