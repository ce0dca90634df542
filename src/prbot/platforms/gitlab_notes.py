"""GitLab MR notes and metadata writes: summary and rule notes, description, labels, reviewers.

Notes are found by their hidden marker *and* the token's own user id (``GET /user``, asked once and
only when a marked note exists), so a human who pastes a marker cannot make prbot edit their note,
and GitLab's own ``system`` notes are never taken for ours. Labels go in one ``PUT`` with GitLab's
comma-separated ``add_labels``/``remove_labels`` (a label holding a comma cannot be expressed, so it
is reported, not mangled). ``reviewer_ids`` replaces the whole set, so the current reviewers are
kept in it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from prbot.platforms.base import SUMMARY_MARKER, PullRequest, WriteResult
from prbot.platforms.writes import post_once, truncate

if TYPE_CHECKING:
    import httpx

    from prbot.http import ApiClient

#: Notes and descriptions may hold 1,000,000 characters; bytes are a safe upper bound.
MAX_NOTE_BYTES = 1_000_000


def _username(obj: Any) -> str:
    return str(obj.get("username") or "") if isinstance(obj, dict) else ""


class NoteWriter:
    """Notes, description, labels and reviewers of :class:`~prbot.platforms.gitlab.GitLabPlatform`."""

    _client: ApiClient
    _mr: str
    _data: dict[str, Any] | None

    if TYPE_CHECKING:

        def _req(self, method: str, path: str, **kw: Any) -> httpx.Response: ...
        def _json(self, method: str, path: str, **kw: Any) -> Any: ...
        def _result(self, action: str, start: int, **kw: Any) -> WriteResult: ...
        def _writable(self) -> None: ...
        def _note_list(self) -> list[dict[str, Any]]: ...
        def _my_id(self) -> int | None: ...
        def _user_id(self, username: str) -> int | None: ...

    _notes: list[dict[str, Any]] | None
    _labels: list[str] | None

    def upsert_summary(self, pr: PullRequest, body: str) -> WriteResult:
        return self._upsert(SUMMARY_MARKER, body, "summary")

    def upsert_comment(self, pr: PullRequest, marker: str, body: str) -> WriteResult:
        return self._upsert(marker, body, "comment")

    def _forget_notes(self) -> None:
        """Drop the cached notes, so the next lookup asks GitLab again."""
        self._notes = None

    def _find_note(self, marker: str) -> dict[str, Any] | None:
        candidates = [
            n
            for n in self._note_list()
            if not n.get("system") and marker in str(n.get("body") or "")
        ]
        if not candidates:
            return None
        me = self._my_id()
        for n in candidates:
            if me is None or (n.get("author") or {}).get("id") == me:
                return n
        return None

    def _upsert(self, marker: str, body: str, action: str) -> WriteResult:
        start = self._client.calls
        self._writable()
        full = truncate(f"{marker}\n{body}", MAX_NOTE_BYTES)
        mine = self._find_note(marker)
        path = f"{self._mr}/notes"
        if mine is None:
            resp, mine = post_once(
                lambda: self._req("POST", path, json={"body": full}, ok={201}),
                lambda: self._forget_notes() or self._find_note(marker),
            )
            if mine is None:
                created = self._client.json_of(resp)
                self._note_list().append(created)
                return self._result(
                    action, start, ok=True, status=201, ids=(str(created.get("id")),),
                    detail=f"{action} note created",
                )  # fmt: skip
        nid = str(mine.get("id"))
        if mine.get("body") == full:
            return self._result(
                action, start, ok=True, skipped=True, ids=(nid,),
                detail=f"{action} note already up to date",
            )  # fmt: skip
        resp = self._req("PUT", f"{path}/{nid}", json={"body": full}, ok={200})
        mine["body"] = full
        return self._result(
            action, start, ok=True, status=200, ids=(nid,), detail=f"{action} note updated"
        )

    def update_description(self, pr: PullRequest, body: str) -> WriteResult:
        start = self._client.calls
        text = truncate(body, MAX_NOTE_BYTES)
        current = (self._data or {}).get("description", pr.body)
        if current == text:
            return self._result(
                "description", start, ok=True, skipped=True, detail="description unchanged"
            )
        resp = self._req("PUT", self._mr, json={"description": text}, ok={200})
        if self._data is not None:
            self._data["description"] = text
        return self._result(
            "description", start, ok=True, status=resp.status_code, detail="description updated"
        )

    def set_labels(
        self, pr: PullRequest, *, add: Sequence[str], remove: Sequence[str]
    ) -> WriteResult:
        start = self._client.calls
        current = list(self._labels if self._labels is not None else pr.labels)
        have = {lb.casefold() for lb in current}
        to_add: list[str] = []
        bad = [n for n in [*add, *remove] if "," in n]
        for name in add:
            key = name.casefold()
            if (
                name
                and "," not in name
                and key not in have
                and key not in map(str.casefold, to_add)
            ):
                to_add.append(name)
        drop = {r.casefold() for r in remove} - {a.casefold() for a in add}
        to_remove = [lb for lb in current if lb.casefold() in drop and "," not in lb]
        note = f"; skipped (a comma cannot be sent): {', '.join(bad)}" if bad else ""
        if not to_add and not to_remove:
            return self._result(
                "labels", start, ok=not bad, skipped=True, detail="labels already set" + note
            )
        payload: dict[str, str] = {}
        if to_add:
            payload["add_labels"] = ",".join(to_add)  # unknown labels are created by GitLab
        if to_remove:
            payload["remove_labels"] = ",".join(to_remove)
        data = self._json("PUT", self._mr, json=payload, ok={200})
        labels = data.get("labels") if isinstance(data, dict) else None
        if isinstance(labels, list):
            self._labels = [str(lb.get("name") if isinstance(lb, dict) else lb) for lb in labels]
        parts = [
            f"added {', '.join(to_add)}" if to_add else "",
            f"removed {', '.join(to_remove)}" if to_remove else "",
        ]
        return self._result(
            "labels", start, ok=not bad, status=200, ids=tuple(to_add + to_remove),
            detail="; ".join(p for p in parts if p) + note,
        )  # fmt: skip

    def request_reviewers(
        self, pr: PullRequest, *, users: Sequence[str], teams: Sequence[str]
    ) -> WriteResult:
        start = self._client.calls
        notes = ["GitLab has no team reviewers: " + ", ".join(teams)] if teams else []
        current = (self._data or {}).get("reviewers") or []
        have = {_username(u): u.get("id") for u in current if isinstance(u, dict)}
        wanted = [u for u in dict.fromkeys(users) if u and u != pr.author and u not in have]
        ids: list[int] = []
        named: list[str] = []
        for name in wanted:
            uid = self._user_id(name)
            if uid is None:
                notes.append(f"no GitLab user {name}")
            else:
                ids.append(uid)
                named.append(name)
        if not ids:
            return self._result(
                "reviewers", start, ok=True, skipped=True,
                detail="; ".join(["nobody new to request", *notes]),
            )  # fmt: skip
        # reviewer_ids replaces the set: keep whoever is already asked.
        keep = [i for i in have.values() if isinstance(i, int)]
        data = self._json("PUT", self._mr, json={"reviewer_ids": keep + ids}, ok={200})
        if isinstance(data, dict) and self._data is not None:
            self._data["reviewers"] = data.get("reviewers") or []
        return self._result(
            "reviewers", start, ok=True, status=200, ids=tuple(named),
            detail="; ".join([f"requested {', '.join(named)}", *notes]),
        )  # fmt: skip
