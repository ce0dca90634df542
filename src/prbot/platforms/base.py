"""The one Platform protocol every forge adapter implements (GitHub, GitLab, Bitbucket, local).

The pipeline, rules, review and audit never know which forge they run on: they speak these types.
An adapter only translates. Features a forge lacks are declared in :class:`Capabilities`, so the
pipeline degrades the same way everywhere (and the audit says what was skipped) instead of each
adapter improvising.

Every write returns a :class:`WriteResult` carrying the HTTP status and the ids the forge returned,
which the app layer records as an audit event.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Protocol, runtime_checkable

#: Hidden markers written into prbot's own comments so re-runs find and update them.
SUMMARY_MARKER = "<!-- prbot:summary -->"
REVIEW_MARKER = "<!-- prbot:review -->"


def comment_marker(key: str) -> str:
    """The hidden marker of a rule-owned comment (``key`` is a slug of the rule name)."""
    return f"<!-- prbot:comment:{key} -->"


def finding_marker(fingerprint: str) -> str:
    """The hidden marker of one inline finding: same path, line and fingerprint = same comment."""
    return f"<!-- prbot:finding:{fingerprint} -->"


class ReviewEvent(str, Enum):
    COMMENT = "COMMENT"
    APPROVE = "APPROVE"
    REQUEST_CHANGES = "REQUEST_CHANGES"


class CheckConclusion(str, Enum):
    SUCCESS = "success"
    FAILURE = "failure"
    NEUTRAL = "neutral"


@dataclass(frozen=True)
class Capabilities:
    """What a forge can do; the pipeline checks these instead of catching NotImplementedError."""

    inline_comments: bool = True
    review_batch: bool = True  # one call carries summary + all inline comments
    labels: bool = True
    checks: bool = True  # check run with annotations (else only a commit status)
    commit_status: bool = True
    approve: bool = True
    request_changes: bool = True
    merge: bool = True
    merge_sha_guard: bool = True


@dataclass(frozen=True)
class PullRequest:
    """A pull/merge request as every layer above the adapters sees it.

    Identity fields (``author``, ``author_association``) come only from the forge API, never from PR
    text, so rule conditions about identity cannot be satisfied by what a PR says about itself.
    """

    forge: str
    repo: str  # "owner/repo" (GitHub), project path or id (GitLab), "workspace/slug" (Bitbucket)
    number: int
    title: str = ""
    body: str = ""
    author: str = ""
    author_association: str = "NONE"
    draft: bool = False
    fork: bool = False
    state: str = "open"
    base_ref: str = ""
    base_sha: str = ""
    head_ref: str = ""
    head_sha: str = ""
    labels: tuple[str, ...] = ()
    url: str = ""
    mergeable: bool | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    additions: int = 0
    deletions: int = 0
    changed_files: int = 0


@dataclass(frozen=True)
class ExistingReview:
    author: str
    state: str  # APPROVED | CHANGES_REQUESTED | COMMENTED | DISMISSED | PENDING
    commit_id: str = ""
    id: str = ""


@dataclass(frozen=True)
class ExistingComment:
    """A comment already on the PR (summary or inline), as listed from the forge."""

    id: str
    body: str
    author: str = ""
    path: str | None = None
    line: int | None = None


@dataclass(frozen=True)
class InlineComment:
    path: str
    line: int
    body: str
    fingerprint: str
    start_line: int | None = None
    side: str = "RIGHT"


@dataclass(frozen=True)
class Annotation:
    path: str
    start_line: int
    end_line: int
    level: str  # notice | warning | failure
    message: str
    title: str = ""


@dataclass
class CheckReport:
    head_sha: str
    conclusion: CheckConclusion
    title: str
    summary: str
    name: str = "prbot"
    text: str = ""
    annotations: list[Annotation] = field(default_factory=list)
    details_url: str = ""


@dataclass(frozen=True)
class ChecksState:
    success: frozenset[str] = frozenset()
    failure: frozenset[str] = frozenset()
    pending: frozenset[str] = frozenset()


@dataclass(frozen=True)
class WriteResult:
    """The outcome of one write, for the audit: what was done, the status, the forge's ids."""

    action: str
    ok: bool
    status: int | None = None
    ids: tuple[str, ...] = ()
    detail: str = ""
    skipped: bool = False  # nothing to do (already there) or not supported here
    api_calls: int = 0


@runtime_checkable
class Platform(Protocol):
    """One forge. Every method is idempotent where the forge allows it (markers, set-style labels)."""

    name: str
    capabilities: Capabilities

    def get_pull_request(self) -> PullRequest: ...

    def get_diff(self, pr: PullRequest) -> bytes: ...

    def list_comments(self, pr: PullRequest) -> list[ExistingComment]:
        """prbot's own comments (summary and inline), found by their hidden markers."""
        ...

    def post_review(
        self, pr: PullRequest, *, body: str, comments: Sequence[InlineComment], event: ReviewEvent
    ) -> WriteResult: ...

    def upsert_summary(self, pr: PullRequest, body: str) -> WriteResult: ...

    def upsert_comment(self, pr: PullRequest, marker: str, body: str) -> WriteResult:
        """One conversation comment owned by ``marker`` (a rule's ``comment`` action), edited in place."""
        ...

    def update_description(self, pr: PullRequest, body: str) -> WriteResult:
        """Replace the PR description (the caller keeps human text; see ``describe``)."""
        ...

    def set_labels(
        self, pr: PullRequest, *, add: Sequence[str], remove: Sequence[str]
    ) -> WriteResult: ...

    def set_check(self, pr: PullRequest, report: CheckReport) -> WriteResult: ...

    def merge(
        self, pr: PullRequest, *, method: str, sha: str, delete_branch: bool = False
    ) -> WriteResult: ...

    def list_reviews(self, pr: PullRequest) -> list[ExistingReview]: ...

    def checks_state(self, pr: PullRequest) -> ChecksState: ...

    def read_file(self, path: str, ref: str) -> bytes | None:
        """A file at a ref (the base branch's ``.prbot.yml``); ``None`` if absent."""
        ...

    def list_open_pull_requests(self) -> list[PullRequest]: ...

    def request_reviewers(
        self, pr: PullRequest, *, users: Sequence[str], teams: Sequence[str]
    ) -> WriteResult: ...

    def is_team_member(self, team: str, user: str) -> bool:
        """``team`` is ``org/slug``; a pending membership is not membership."""
        ...

    @property
    def api_calls(self) -> int:
        """How many API requests this adapter has made (reported per run)."""
        ...
