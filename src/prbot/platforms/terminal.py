"""The local terminal as a Platform: the current git branch is the "pull request".

``prbot run`` outside CI without ``--pr`` runs the whole pipeline on the local branch through this
adapter, so rules can be tried before pushing. Nothing leaves the machine: every write is kept in
:attr:`TerminalPlatform.written` (the CLI shows it as the run's writes) and reported as done locally.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from prbot.platforms.base import (
    Capabilities,
    CheckReport,
    ChecksState,
    ExistingComment,
    ExistingReview,
    InlineComment,
    PullRequest,
    ReviewEvent,
    WriteResult,
)


@dataclass
class TerminalPlatform:
    path: Path
    base: str | None = None
    name: str = "local"
    capabilities: Capabilities = field(
        default_factory=lambda: Capabilities(
            checks=False, merge=False, merge_sha_guard=False, approve=False
        )
    )
    written: list[WriteResult] = field(default_factory=list)
    _diff: bytes | None = None
    _pr: PullRequest | None = None

    def get_pull_request(self) -> PullRequest:
        from prbot.platforms.local import local_diff

        local = local_diff(self.path, base=self.base)
        self._diff = local.diff
        c = local.change
        self._pr = PullRequest(
            forge="local",
            repo=str(local.repo_root),
            number=0,
            title=c.title,
            body=c.body,
            author=c.author,
            author_association="OWNER",
            base_ref=c.base_ref,
            base_sha=c.base_sha,
            head_ref=c.head_ref,
            head_sha=c.head_sha,
            url=f"{c.head_ref} (local)",
        )
        return self._pr

    def get_diff(self, pr: PullRequest) -> bytes:
        return self._diff if self._diff is not None else b""

    def list_comments(self, pr: PullRequest) -> list[ExistingComment]:
        return []

    def _local(self, action: str, detail: str) -> WriteResult:
        res = WriteResult(
            action, ok=True, skipped=True, detail=f"local run: {detail} (not sent anywhere)"
        )
        self.written.append(res)
        return res

    def post_review(
        self, pr: PullRequest, *, body: str, comments: Sequence[InlineComment], event: ReviewEvent
    ) -> WriteResult:
        return self._local("review", f"{event.value} with {len(comments)} inline comment(s)")

    def upsert_summary(self, pr: PullRequest, body: str) -> WriteResult:
        return self._local("summary", "summary comment")

    def upsert_comment(self, pr: PullRequest, marker: str, body: str) -> WriteResult:
        return self._local("comment", f"comment {marker}")

    def update_description(self, pr: PullRequest, body: str) -> WriteResult:
        return self._local("describe", f"description ({len(body)} characters)")

    def set_labels(
        self, pr: PullRequest, *, add: Sequence[str], remove: Sequence[str]
    ) -> WriteResult:
        return self._local("labels", f"add {list(add)}, remove {list(remove)}")

    def set_check(self, pr: PullRequest, report: CheckReport) -> WriteResult:
        return self._local("check", f"{report.name}: {report.conclusion.value}")

    def merge(
        self, pr: PullRequest, *, method: str, sha: str, delete_branch: bool = False
    ) -> WriteResult:
        return self._local("merge", f"{method} at {sha[:12]}")

    def list_reviews(self, pr: PullRequest) -> list[ExistingReview]:
        return []

    def checks_state(self, pr: PullRequest) -> ChecksState:
        return ChecksState()

    def read_file(self, path: str, ref: str) -> bytes | None:
        return None

    def list_open_pull_requests(self) -> list[PullRequest]:
        return [self._pr] if self._pr else []

    def request_reviewers(
        self, pr: PullRequest, *, users: Sequence[str], teams: Sequence[str]
    ) -> WriteResult:
        return self._local("request-reviewers", f"users {list(users)}, teams {list(teams)}")

    def is_team_member(self, team: str, user: str) -> bool:
        return False

    @property
    def api_calls(self) -> int:
        return 0
