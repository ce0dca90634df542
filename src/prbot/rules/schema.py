"""The ``labels:``, ``rules:``, ``notify:`` and ``permissions:`` sections of ``.prbot.yml``.

These pydantic models are the edge where YAML becomes typed data: every model forbids unknown
keys, so a typo is a load-time error rather than a setting that silently does nothing, and
``prbot config schema`` publishes them as JSON Schema for editors. They check one section at a
time; checks that need several sections at once (a label action naming an undefined label, a
notify action naming an unknown channel, duplicate rule names, conditions, templates) happen in
:func:`prbot.rules.pipeline.compile_pipeline`, which the config loader runs right after them.

Rule conditions stay loosely typed here on purpose: the condition parser gives far better errors
for a malformed condition (an unquoted ``#``, a ``key: value`` mapping) than a type error would.
"""

from __future__ import annotations

import difflib
import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError, ValidationError
from typing_extensions import TypeAliasType

from prbot.rules.attributes import ASSOCIATIONS

SeverityName = Literal["info", "warning", "error"]
MergeMethod = Literal["merge", "squash", "rebase"]
Conclusion = Literal["success", "failure", "neutral"]
#: One list of author associations for the schema and the condition language.
Association = Literal[ASSOCIATIONS]  # type: ignore[valid-type]

#: Forges cap label names (GitHub: 50 characters); GitLab's API separates labels with commas.
MAX_LABEL_CHARS = 50
MAX_TEMPLATE_CHARS = 20_000
_ENV_NAME = r"^[A-Z_][A-Z0-9_]*$"
_LOGIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,98}[A-Za-z0-9])?$")
_TEAM = re.compile(r"^@?[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)+$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


def _check_logins(values: list[str], kind: str) -> list[str]:
    for value in values:
        if not _LOGIN.match(value):
            hint = " (teams go in teams:)" if "/" in value else ""
            raise ValueError(f"{value!r} is not a valid {kind} login{hint}")
    return values


def _check_teams(values: list[str]) -> list[str]:
    for value in values:
        if not _TEAM.match(value):
            raise ValueError(f"{value!r} is not a team: write org/team or @org/team")
    return values


# --- labels -----------------------------------------------------------------------------------


class LabelDef(_Strict):
    """A label prbot may set; the only names label actions and model classification can use."""

    color: str | None = Field(
        default=None,
        pattern=r"^#?[0-9a-fA-F]{6}$",
        description='Six hex digits, e.g. "0075ca" (quote it: YAML reads some as numbers).',
    )
    description: str | None = Field(
        default=None,
        max_length=100,
        description="Shown on the forge; also what the model reads when it classifies.",
    )
    paths: list[str] = Field(
        default_factory=list,
        description="Globs of changed files that earn this label (label: {from_paths: true}).",
    )


def _check_label_name(name: str) -> str:
    if not name.strip() or name != name.strip():
        raise ValueError(f"label name {name!r} is empty or has surrounding spaces")
    if len(name) > MAX_LABEL_CHARS:
        raise ValueError(f"label name {name[:20]!r}… is longer than {MAX_LABEL_CHARS} characters")
    if "," in name or any(ord(ch) < 32 for ch in name):
        raise ValueError(f"label name {name!r} has a comma or a control character")
    return name


LabelName = Annotated[str, AfterValidator(_check_label_name)]


# --- actions ----------------------------------------------------------------------------------


class LabelAction(_Strict):
    """Add or remove labels; only labels defined under ``labels:`` unless ``allow_undefined``."""

    add: list[LabelName] = Field(default_factory=list, description="Labels to add.")
    remove: list[LabelName] = Field(default_factory=list, description="Labels to remove.")
    from_paths: bool = Field(
        default=False, description="Add every defined label whose paths match a changed file."
    )
    classify: bool = Field(
        default=False,
        description="Let the model pick labels, only among those defined under labels:.",
    )
    allow_undefined: bool = Field(
        default=False, description="Allow add/remove of labels not defined under labels:."
    )

    @model_validator(mode="after")
    def _does_something(self) -> LabelAction:
        if not (self.add or self.remove or self.from_paths or self.classify):
            raise ValueError("label needs add, remove, from_paths: true or classify: true")
        both = sorted(set(self.add) & set(self.remove))
        if both:
            raise ValueError(f"label {both[0]!r} is both added and removed")
        return self


class ReviewAction(_Strict):
    """Run the reviewer: inline comments plus the one updatable summary comment.

    Settings left out fall back to the ``review:`` and ``model:`` sections.
    """

    model: str | None = Field(default=None, description="Model string for this review.")
    min_severity: SeverityName | None = Field(
        default=None, description="Findings below this are dropped."
    )
    max_comments: int | None = Field(default=None, ge=0, description="Inline comments at most.")
    instructions: str | None = Field(
        default=None,
        max_length=MAX_TEMPLATE_CHARS,
        description="Extra instructions for the model (joined when several rules match).",
    )
    summary: bool = Field(default=True, description="Keep the summary comment up to date.")


class DescribeAction(_Strict):
    """Write a PR description between hidden markers, so human text is never overwritten."""

    instructions: str | None = Field(default=None, max_length=MAX_TEMPLATE_CHARS)
    title: bool = Field(default=False, description="Also propose a title (never replaces one).")


class CommentAction(_Strict):
    """Post (and keep updated) one comment owned by this rule."""

    body: str = Field(
        min_length=1, max_length=MAX_TEMPLATE_CHARS, description="Template: {{ pr.title }} …"
    )


class ApproveAction(_Strict):
    """Approve the PR (refused for drafts and forks unless permissions.approve allows)."""

    body: str | None = Field(default=None, max_length=MAX_TEMPLATE_CHARS)


class RequestChangesAction(_Strict):
    """Request changes; wins over approve and merge planned in the same run."""

    body: str | None = Field(default=None, max_length=MAX_TEMPLATE_CHARS)


class MergeAction(_Strict):
    """Merge with the reviewed head SHA only (refused for drafts and forks by default)."""

    method: MergeMethod = Field(default="merge", description="merge, squash or rebase.")
    delete_branch: bool = Field(default=False, description="Delete the head branch afterwards.")
    when_pipeline_succeeds: bool = Field(
        default=False,
        description="GitLab: merge when the MR pipeline succeeds (auto-merge), still only at the reviewed SHA.",
    )


class SetStatusAction(_Strict):
    """Report a check run / commit status."""

    name: str = Field(min_length=1, max_length=100, description="Check name, e.g. prbot/docs.")
    conclusion: Conclusion
    description: str | None = Field(
        default=None, max_length=140, description="Template; forges cap it at 140 characters."
    )


class RequestReviewersAction(_Strict):
    """Ask people or teams for a review (the author is never asked)."""

    users: list[str] = Field(default_factory=list)
    teams: list[str] = Field(default_factory=list)

    @field_validator("users")
    @classmethod
    def _users(cls, v: list[str]) -> list[str]:
        return _check_logins(v, "user")

    @field_validator("teams")
    @classmethod
    def _teams(cls, v: list[str]) -> list[str]:
        return _check_teams(v)

    @model_validator(mode="after")
    def _someone(self) -> RequestReviewersAction:
        if not (self.users or self.teams):
            raise ValueError("request-reviewers needs users or teams")
        return self


class NotifyAction(_Strict):
    """Send a message to a channel defined under ``notify:``."""

    channel: str = Field(min_length=1, description="A key of the notify: section.")
    message: str = Field(
        default="prbot: {{ rule.name }} on {{ pr.url }}",
        min_length=1,
        max_length=MAX_TEMPLATE_CHARS,
        description="Template: {{ pr.title }} …",
    )


#: Action name as written in YAML → (python field name, model). Order = documentation order.
ACTIONS: dict[str, tuple[str, type[_Strict]]] = {
    "label": ("label", LabelAction),
    "review": ("review", ReviewAction),
    "describe": ("describe", DescribeAction),
    "comment": ("comment", CommentAction),
    "approve": ("approve", ApproveAction),
    "request-changes": ("request_changes", RequestChangesAction),
    "merge": ("merge", MergeAction),
    "set-status": ("set_status", SetStatusAction),
    "request-reviewers": ("request_reviewers", RequestReviewersAction),
    "notify": ("notify", NotifyAction),
}


def _unknown_key(
    model: str, kind: str, key: object, known: list[str], aliases: dict[str, str]
) -> ValidationError:
    """An error located at the unknown key itself, suggesting the YAML spelling.

    The generic "unknown key" check would suggest Python field names (``request_changes``,
    ``if_``), and no spelling check maps the keys other tools use (``conditions``, ``actions``).
    """
    shown = str(key)[:40].replace("{", "(").replace("}", ")")
    norm = shown.strip().lower().replace("_", "-").replace(" ", "-")
    guess = aliases.get(norm) or (norm if norm in known else None)
    close = [guess] if guess else difflib.get_close_matches(norm, known, n=1, cutoff=0.5)
    tip = f"did you mean {close[0]!r}?" if close else f"{kind}s: " + ", ".join(known)
    error = PydanticCustomError(f"unknown_{kind}", f"unknown {kind} {shown!r} ({tip})")
    return ValidationError.from_exception_data(
        model, [{"type": error, "loc": (shown,), "input": shown}]
    )


#: What other tools call an action → the prbot action.
_ACTION_ALIASES = {
    "labels": "label",
    "request-reviews": "request-reviewers",
    "review-request": "request-reviewers",
    "post-check": "set-status",
    "status": "set-status",
    "check": "set-status",
    "reject": "request-changes",
}
_RULE_KEYS = ["name", "if", "do", "description"]
_RULE_ALIASES = {"conditions": "if", "when": "if", "actions": "do", "then": "do", "run": "do"}


class Actions(_Strict):
    """The ``do:`` mapping of a rule: one entry per action."""

    label: LabelAction | None = None
    review: ReviewAction | None = None
    describe: DescribeAction | None = None
    comment: CommentAction | None = None
    approve: ApproveAction | None = None
    request_changes: RequestChangesAction | None = Field(default=None, alias="request-changes")
    merge: MergeAction | None = None
    set_status: SetStatusAction | None = Field(default=None, alias="set-status")
    request_reviewers: RequestReviewersAction | None = Field(
        default=None, alias="request-reviewers"
    )
    notify: NotifyAction | None = None

    model_config = ConfigDict(extra="forbid", populate_by_name=False, frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _known(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key, value in list(data.items()):
                if key not in ACTIONS:
                    raise _unknown_key("Actions", "action", key, list(ACTIONS), _ACTION_ALIASES)
                if value is None:  # "approve:" with nothing after it means "approve: {}"
                    data = {**data, key: {}}
        return data

    def items(self) -> list[tuple[str, _Strict]]:
        """The configured actions as (YAML name, settings), in documentation order."""
        out = []
        for name, (attr, _) in ACTIONS.items():
            value = getattr(self, attr)
            if value is not None:
                out.append((name, value))
        return out


class RuleConfig(_Strict):
    """One rule: a name, conditions (``if``, AND of all) and actions (``do``)."""

    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        frozen=True,
        json_schema_extra={"required": ["name", "do"]},
    )

    name: str = Field(min_length=1, max_length=200, description="Unique; shown by prbot explain.")
    if_: Any = Field(
        default_factory=list,
        alias="if",
        description="Conditions, all of which must hold (see docs/rules.md).",
        json_schema_extra={
            "type": "array",
            "items": {"anyOf": [{"type": "string"}, {"type": "object"}]},
        },
    )
    # Not required by pydantic so that a missing do: is reported by the compiler together with
    # the rule's other problems; the JSON Schema still marks it required for editors.
    do: Actions = Field(
        default_factory=Actions, description="Actions to run when the conditions hold."
    )
    description: str | None = Field(default=None, description="Why the rule exists.")

    @model_validator(mode="before")
    @classmethod
    def _known(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key in data:
                if key not in _RULE_KEYS:
                    raise _unknown_key("RuleConfig", "key", key, _RULE_KEYS, _RULE_ALIASES)
        return data


# --- notify -----------------------------------------------------------------------------------

EnvName = Annotated[str, Field(pattern=_ENV_NAME, description="Name of an environment variable.")]


class SlackChannel(_Strict):
    """Slack incoming webhook; the URL is a secret, so only its variable name is configured."""

    type: Literal["slack"]
    webhook_env: EnvName


class WebhookChannel(_Strict):
    """Generic JSON webhook, signed with HMAC-SHA256 when ``secret_env`` is set."""

    type: Literal["webhook"]
    url_env: EnvName
    secret_env: EnvName | None = None


class EmailChannel(_Strict):
    """E-mail through the SMTP server named by a URL in ``smtp_env``."""

    type: Literal["email"]
    to: list[Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$")]] = Field(min_length=1)
    smtp_env: EnvName = "PRBOT_SMTP_URL"


Channel = Annotated[SlackChannel | WebhookChannel | EmailChannel, Field(discriminator="type")]

# Named aliases keep the generated config reference readable ("Rules", not a nested repr).
Labels = TypeAliasType("Labels", dict[Annotated[str, AfterValidator(_check_label_name)], LabelDef])
Channels = TypeAliasType("Channels", dict[str, Channel])


# --- permissions ------------------------------------------------------------------------------


def _default_associations() -> list[Association]:
    return ["OWNER", "MEMBER", "COLLABORATOR"]


class CommandPermissions(_Strict):
    """Who may trigger prbot with slash commands in comments."""

    associations: list[Association] = Field(
        default_factory=_default_associations,
        description="Author associations allowed to run commands.",
    )
    users: list[str] = Field(default_factory=list, description="Logins allowed as well.")
    teams: list[str] = Field(default_factory=list, description="Teams (org/team) allowed as well.")

    @field_validator("users")
    @classmethod
    def _users(cls, v: list[str]) -> list[str]:
        return _check_logins(v, "user")

    @field_validator("teams")
    @classmethod
    def _teams(cls, v: list[str]) -> list[str]:
        return _check_teams(v)


class ProtectedAction(_Strict):
    """Safety switches for approve and merge; both default to refusing."""

    allow_drafts: bool = Field(default=False, description="Act on draft PRs too.")
    allow_forks: bool = Field(
        default=False, description="Act on PRs from forks (their code is not yours to trust)."
    )


class Permissions(_Strict):
    commands: CommandPermissions = Field(default_factory=CommandPermissions)
    approve: ProtectedAction = Field(default_factory=ProtectedAction)
    merge: ProtectedAction = Field(default_factory=ProtectedAction)
