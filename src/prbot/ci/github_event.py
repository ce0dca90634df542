"""Read the GitHub Actions event payload and extract what prbot acts on.

The payload at ``GITHUB_EVENT_PATH`` is the only place the PR number, the reviewed head SHA and a
comment's slash command are found. It is read defensively (bounded, typed field by field) because a
malformed file must give one clear line, not a ``KeyError`` traceback in someone's CI log.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from prbot.ci.commands import SlashCommand, parse_command
from prbot.errors import UsageError

PR_EVENTS = ("pull_request", "pull_request_target")
SUPPORTED_EVENTS = (*PR_EVENTS, "issue_comment", "workflow_dispatch")
DISPATCH_INPUTS = ("pr", "pr_number", "pull_request")

#: Webhook payloads are capped at 25 MB by GitHub; anything bigger is not an event file.
MAX_PAYLOAD_BYTES = 32 * 1024 * 1024

FORK_HINT = (
    "pull request from a fork or Dependabot: GITHUB_TOKEN is read-only here, so findings go to "
    "annotations and the step summary (post comments from a workflow_run workflow)"
)


@dataclass(frozen=True)
class GitHubEvent:
    """The facts prbot needs from one event.

    ``number`` is ``None`` when the event concerns no pull request (a comment on a plain issue);
    ``ignored`` then, or for a bot's comment, says why there is nothing to do.
    """

    name: str
    number: int | None
    head_sha: str = ""
    base_sha: str = ""
    actor: str = ""
    command: SlashCommand | None = None
    fork: bool = False
    ignored: str = ""


def read_payload(env: Mapping[str, str]) -> dict[str, Any]:
    """The JSON object at ``GITHUB_EVENT_PATH``; :class:`UsageError` for every way it can be wrong."""
    raw_path = (env.get("GITHUB_EVENT_PATH") or "").strip()
    if not raw_path:
        raise UsageError(
            "GITHUB_EVENT_PATH is not set: cannot read the GitHub Actions event payload"
        )
    path = Path(raw_path)
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_PAYLOAD_BYTES + 1)
    except FileNotFoundError:
        raise UsageError(f"GITHUB_EVENT_PATH points to a missing file: {raw_path}") from None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise UsageError(f"cannot read GITHUB_EVENT_PATH ({raw_path}): {reason}") from None
    if len(data) > MAX_PAYLOAD_BYTES:
        raise UsageError(f"GITHUB_EVENT_PATH is larger than 32 MiB: {raw_path}")
    try:
        payload = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise UsageError(f"GITHUB_EVENT_PATH is not UTF-8 JSON: {raw_path}") from None
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"GITHUB_EVENT_PATH is not valid JSON ({exc.msg} at line {exc.lineno} "
            f"column {exc.colno}): {raw_path}"
        ) from None
    except RecursionError:
        raise UsageError(f"GITHUB_EVENT_PATH is nested too deeply: {raw_path}") from None
    if not isinstance(payload, dict):
        raise UsageError(
            f"GITHUB_EVENT_PATH does not hold a JSON object (found {_json_type(payload)}): "
            f"{raw_path}"
        )
    return payload


def parse_event(
    name: str, payload: Mapping[str, Any], *, pr_number: int | None = None
) -> GitHubEvent:
    """Interpret ``payload`` for event ``name``. ``pr_number`` is the explicit choice of the user.

    Non-PR events are refused unless ``pr_number`` names the PR: a scheduled or push run may be
    pointed at one explicitly, but never guessed.
    """
    actor = _str(payload, "sender", "login")
    if name in PR_EVENTS:
        return _pull_request(name, payload, actor)
    if name == "issue_comment":
        return _issue_comment(payload)
    if name == "workflow_dispatch":
        number = pr_number or _dispatch_number(payload.get("inputs"))
        if number is None:
            raise UsageError(
                "workflow_dispatch run names no pull request: add a `pr` input to the workflow "
                "and pass it, or pass the PR number to prbot"
            )
        return GitHubEvent(name, number, actor=actor)
    if pr_number is not None:
        return GitHubEvent(name, pr_number, actor=actor)
    raise non_pr_event(name)


def non_pr_event(name: str) -> UsageError:
    return UsageError(
        f"event {_quoted(name)} is not about a pull request; run prbot on "
        "pull_request, pull_request_target, issue_comment or workflow_dispatch"
    )


def _pull_request(name: str, payload: Mapping[str, Any], actor: str) -> GitHubEvent:
    pr = payload.get("pull_request")
    number = _positive_int(pr.get("number")) if isinstance(pr, Mapping) else None
    if number is None:
        raise UsageError(
            f"the {name} event payload has no pull_request.number "
            "(is GITHUB_EVENT_PATH this run's event file?)"
        )
    head_repo = _str(pr, "head", "repo", "full_name")
    base_repo = _str(pr, "base", "repo", "full_name")
    fork = bool(head_repo and base_repo and head_repo.lower() != base_repo.lower())
    head = pr.get("head")
    # A deleted fork leaves head.repo null: still not our repository, so still read-only.
    if isinstance(head, Mapping) and "repo" in head and head["repo"] is None:
        fork = True
    return GitHubEvent(
        name,
        number,
        head_sha=_sha(_str(pr, "head", "sha")),
        base_sha=_sha(_str(pr, "base", "sha")),
        actor=actor or _str(pr, "user", "login"),
        fork=fork,
    )


def _issue_comment(payload: Mapping[str, Any]) -> GitHubEvent:
    name = "issue_comment"
    issue = payload.get("issue")
    if not isinstance(issue, Mapping) or not isinstance(issue.get("pull_request"), Mapping):
        return GitHubEvent(name, None, ignored="comment on an issue, not a pull request")
    number = _positive_int(issue.get("number"))
    if number is None:
        raise UsageError("the issue_comment event payload has no issue.number")
    author = _str(payload, "comment", "user", "login")
    event = GitHubEvent(name, number, actor=author or _str(payload, "sender", "login"))
    action = payload.get("action", "created")
    if action != "created":
        # Edits and deletions re-deliver old text; acting on them would run a command twice.
        return replace(event, ignored=f"comment {action}, only new comments are commands")
    if _str(payload, "comment", "user", "type") == "Bot":
        return replace(event, ignored="comment by a bot")
    comment = payload.get("comment")
    body = comment.get("body") if isinstance(comment, Mapping) else None
    command = parse_command(
        body if isinstance(body, str) else "",
        author=author,
        association=_str(payload, "comment", "author_association"),
    )
    if command is None:
        return replace(event, ignored="comment holds no /prbot command")
    return replace(event, command=command)


def _dispatch_number(inputs: object) -> int | None:
    if not isinstance(inputs, Mapping):
        return None
    for key in DISPATCH_INPUTS:
        value = inputs.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        text = str(value).strip().lstrip("#")
        number = _positive_int(int(text)) if re.fullmatch(r"[0-9]{1,10}", text) else None
        if number is None:
            raise UsageError(
                f"workflow_dispatch input {key}={_quoted(str(value))} is not a pull request number"
            )
        return number
    return None


def _str(obj: object, *keys: str) -> str:
    """A nested string field, or ``""`` when any level is missing or of the wrong type."""
    for key in keys:
        if not isinstance(obj, Mapping):
            return ""
        obj = obj.get(key)
    return obj if isinstance(obj, str) else ""


def _positive_int(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if 0 < value < 10**10 else None


_SHA = re.compile(r"^[0-9a-fA-F]{7,64}$")


def _sha(value: str) -> str:
    """A SHA as given, or ``""`` when it is not one: it ends up in API paths and merge guards."""
    return value.lower() if _SHA.match(value) else ""


def _json_type(value: object) -> str:
    return {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number"
    )


def _quoted(text: str) -> str:
    clean = re.sub(r"[\x00-\x1f\x7f]", "?", text)[:100]
    return f"'{clean}'"
