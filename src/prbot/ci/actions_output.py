"""GitHub Actions side channels: workflow-command annotations, the step summary, step outputs.

These work without any API token, which makes them the fallback when the token cannot write (fork
PRs). They carry untrusted text (findings quote PR content), so everything is escaped exactly as
the Actions toolkit does: a newline in a message must not start a second workflow command.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Mapping
from typing import Literal

from prbot.errors import PlatformError, UsageError

AnnotationLevel = Literal["error", "warning", "notice"]

#: GitHub drops a step summary larger than this (with an error annotation) instead of cutting it.
STEP_SUMMARY_LIMIT = 1024 * 1024

_OUTPUT_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]{0,99}$")


def escape_data(text: str) -> str:
    """Escape a command's message (actions/toolkit ``escapeData``)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a command property value (actions/toolkit ``escapeProperty``)."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def workflow_annotation(
    level: AnnotationLevel,
    message: str,
    *,
    file: str | None = None,
    line: int | None = None,
    end_line: int | None = None,
    title: str | None = None,
) -> str:
    """One ``::error …::message`` line (without the newline). Line numbers are 1-based."""
    if level not in ("error", "warning", "notice"):
        raise ValueError(f"annotation level must be error, warning or notice, not {level!r}")
    props: list[str] = []
    if file:
        props.append(f"file={escape_property(file)}")
    if line is not None and line >= 1:
        props.append(f"line={int(line)}")
        if end_line is not None and end_line >= line:
            props.append(f"endLine={int(end_line)}")
    if title:
        props.append(f"title={escape_property(title)}")
    head = f"{level} {','.join(props)}" if props else level
    return f"::{head}::{escape_data(message)}"


def write_step_summary(
    markdown: str, env: Mapping[str, str], *, limit_bytes: int = STEP_SUMMARY_LIMIT
) -> bool:
    """Append ``markdown`` to ``$GITHUB_STEP_SUMMARY``; ``False`` when there is no such file.

    The limit counts what the step already wrote: GitHub drops the *whole* summary when the file
    passes 1 MiB, so a long report is cut here, with a note, rather than lost there.
    """
    path = (env.get("GITHUB_STEP_SUMMARY") or "").strip()
    if not path:
        return False
    try:
        used = os.path.getsize(path)
    except OSError:
        used = 0
    text = markdown if markdown.endswith("\n") else markdown + "\n"
    data = text.encode("utf-8", "replace")
    room = limit_bytes - used
    if len(data) > room:
        data = _truncated(data, room)
        if not data:
            return False
    _append(path, data, "GITHUB_STEP_SUMMARY")
    return True


def write_outputs(values: Mapping[str, str], env: Mapping[str, str]) -> bool:
    """Append step outputs to ``$GITHUB_OUTPUT``; ``False`` when there is no such file.

    Multi-line values use a ``name<<DELIMITER`` block whose delimiter is random and absent from
    the value, so a value cannot end its block early and inject further outputs.
    """
    path = (env.get("GITHUB_OUTPUT") or "").strip()
    if not path:
        return False
    chunks: list[str] = []
    for name, value in values.items():
        if not _OUTPUT_NAME.match(name):
            raise UsageError(f"not a valid step output name: {name[:100]!r}")
        value = str(value)
        if "\n" in value or "\r" in value:
            delimiter = _delimiter(value)
            chunks.append(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")
        else:
            chunks.append(f"{name}={value}\n")
    if chunks:
        _append(path, "".join(chunks).encode("utf-8", "replace"), "GITHUB_OUTPUT")
    return True


def _delimiter(value: str) -> str:
    while True:
        candidate = f"ghadelimiter_{secrets.token_hex(16)}"
        if candidate not in value:
            return candidate


def _truncated(data: bytes, room: int) -> bytes:
    """The longest prefix of ``data`` that fits in ``room`` bytes with the truncation note.

    Cut at a line end (never inside a UTF-8 sequence), and close a code fence left open so the note
    renders as text.
    """
    note_template = "\n\n_Summary truncated by prbot: {shown} of {total} bytes shown (GitHub's 1 MiB step summary limit)._\n"
    total = len(data)
    note_max = len(note_template.format(shown=total, total=total).encode()) + 64
    budget = room - note_max
    if budget <= 0:
        return b""
    cut = data[:budget]
    newline = cut.rfind(b"\n")
    if newline > budget // 2:
        cut = cut[: newline + 1]
    text = cut.decode("utf-8", "ignore")
    fence = _open_fence(text)
    if fence and len(fence) <= 32:  # a longer fence marker would not fit the reserved room
        text += fence if text.endswith("\n") else "\n" + fence
    shown = len(text.encode("utf-8"))
    return (text + note_template.format(shown=shown, total=total)).encode("utf-8")


def _open_fence(text: str) -> str:
    """The marker of a code fence still open at the end of ``text``, or ``""``."""
    fence = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not fence:
            match = re.match(r"^(`{3,}|~{3,})", line)
            fence = match.group(1) if match else ""
        elif line.startswith(fence) and not line.strip(fence[0]):
            fence = ""
    return fence


def _append(path: str, data: bytes, variable: str) -> None:
    try:
        with open(path, "ab") as fh:
            fh.write(data)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise PlatformError(f"cannot write {variable} ({path}): {reason}") from None
