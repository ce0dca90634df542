"""Slash commands in PR comments (``/prbot review``) and who may give them.

A comment is untrusted text written by anyone who can comment, so parsing is bounded and strict:
only a line that *starts* with ``/prbot`` counts, and text that merely shows or quotes a command
(code fences, ``> /prbot …`` replies, HTML comments) never triggers one. Whether the author may run
it is a separate decision (:func:`is_allowed`) so the caller can answer "not allowed" instead of
silently ignoring the request.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Collection
from dataclasses import dataclass

PREFIX = "/prbot"
KNOWN_COMMANDS = ("review", "describe", "explain", "label", "help")
DEFAULT_ALLOWED_ASSOCIATIONS = frozenset({"OWNER", "MEMBER", "COLLABORATOR"})

MAX_TEXT_CHARS = 64 * 1024
MAX_LINES = 200
MAX_ARGS = 20
MAX_ARG_CHARS = 200

_FENCE = re.compile(r"^(`{3,}|~{3,})")


@dataclass(frozen=True)
class SlashCommand:
    """One command from a comment. ``name`` is ``"unknown"`` for a subcommand prbot lacks.

    ``association`` is the forge's author association (``OWNER``, ``MEMBER``, …), upper-cased;
    empty where the forge has none.
    """

    name: str
    args: tuple[str, ...]
    author: str
    association: str


def parse_command(text: str, *, author: str, association: str) -> SlashCommand | None:
    """The first ``/prbot`` command in ``text``, or ``None`` when the comment holds none."""
    line = _command_line(text or "")
    if line is None:
        return None
    words = _split(line[len(PREFIX) :])
    if not words:
        name = "help"
    else:
        name = words[0].lower()
        if name not in KNOWN_COMMANDS:
            name = "unknown"
    args = tuple(w[:MAX_ARG_CHARS] for w in words[1 : 1 + MAX_ARGS])
    return SlashCommand(name, args, author or "", (association or "").strip().upper())


def is_allowed(
    cmd: SlashCommand,
    allowed_associations: Collection[str] = DEFAULT_ALLOWED_ASSOCIATIONS,
    allowed_users: Collection[str] = (),
) -> bool:
    """Whether ``cmd``'s author may run it: a listed user, or an allowed association.

    Logins compare case-insensitively because forges treat them so; an empty author never matches
    a user entry.
    """
    author = cmd.author.strip().lower()
    if author and author in {u.strip().lower() for u in allowed_users}:
        return True
    association = cmd.association.strip().upper()
    return bool(association) and association in {a.strip().upper() for a in allowed_associations}


def _command_line(text: str) -> str | None:
    """The first line that is a command, skipping fenced code, quotes and HTML comments."""
    fence: str | None = None
    in_html_comment = False
    for raw in text[:MAX_TEXT_CHARS].splitlines()[:MAX_LINES]:
        line = raw.strip()
        if in_html_comment:
            if "-->" in line:
                in_html_comment = False
            continue
        if fence is not None:
            # A fence closes with the same character, at least as long, and nothing after it.
            if line.startswith(fence) and not line.strip(fence[0]):
                fence = None
            continue
        opened = _FENCE.match(line)
        if opened:
            fence = opened.group(1)
            continue
        if line.startswith("<!--"):
            in_html_comment = "-->" not in line[4:]
            continue
        if _is_command(line):
            return line
    return None


def _is_command(line: str) -> bool:
    if line[: len(PREFIX)].lower() != PREFIX:
        return False
    rest = line[len(PREFIX) :]
    return not rest or rest[0].isspace()


def _split(rest: str) -> list[str]:
    """Shell-like words (quotes group), falling back to plain whitespace on unbalanced quotes."""
    try:
        return shlex.split(rest)
    except ValueError:
        return rest.split()
