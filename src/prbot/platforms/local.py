"""The local "platform": a git working copy on a developer's laptop.

``prbot review`` with no ``--diff``/``--pr`` reviews the current branch against its merge-base with
the base branch, like the pull request it is about to become. Diffs are read as bytes (files are not
always UTF-8) and decoded by the diff parser with replacement.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from prbot.errors import GitError
from prbot.models import ChangeInfo

#: Base branches tried, in order, when neither ``--base`` nor ``origin/HEAD`` names one.
DEFAULT_BASES = ("main", "master", "origin/main", "origin/master", "trunk", "develop")
#: Untracked files added to a ``--working-tree`` review, at most (a stray build dir must not explode it).
MAX_UNTRACKED = 500


@dataclass(frozen=True)
class LocalChange:
    diff: bytes
    change: ChangeInfo
    repo_root: Path
    mode: str


def _open_repo(path: Path):  # -> git.Repo; gitpython imported lazily, it is slow to import
    try:
        import git
    except ImportError as exc:  # pragma: no cover - dependency missing
        raise GitError("gitpython is not installed", hint="pip install prbot") from exc
    try:
        return git.Repo(path, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise GitError(
            f"not a git repository: {path}",
            hint="run inside a repository, or pass --diff FILE / --diff -",
        ) from None
    except git.GitCommandNotFound:
        raise GitError("git is not installed or not on PATH", hint="install git") from None


def _git_bytes(repo, *args: str, ok_codes: tuple[int, ...] = (0,)) -> bytes:
    import git

    try:
        status, out, err = repo.git.execute(
            ["git", "-c", "core.quotePath=false", *args],
            stdout_as_string=False,
            with_extended_output=True,
            with_exceptions=False,
            strip_newline_in_stdout=False,
            env={"LC_ALL": "C", "GIT_PAGER": "cat"},
        )
    except git.GitCommandNotFound:
        raise GitError("git is not installed or not on PATH", hint="install git") from None
    if status not in ok_codes:
        msg = (err.decode("utf-8", "replace") if isinstance(err, bytes) else str(err)).strip()
        raise GitError(f"git {args[0]} failed: {msg.splitlines()[-1] if msg else status}")
    return out if isinstance(out, bytes) else str(out).encode()


def _rev(repo, ref: str) -> str | None:
    try:
        return repo.git.rev_parse("--verify", "--quiet", f"{ref}^{{commit}}")
    except Exception:
        return None


def detect_base(repo) -> str:
    """``origin/HEAD``'s target, else the first of :data:`DEFAULT_BASES` that exists."""
    try:
        ref = repo.git.symbolic_ref("--quiet", "refs/remotes/origin/HEAD").strip()
        if ref:
            return ref.removeprefix("refs/remotes/")
    except Exception:
        pass
    current = _current_branch(repo)
    for name in DEFAULT_BASES:
        if name != current and _rev(repo, name):
            return name
    for name in DEFAULT_BASES:
        if _rev(repo, name):
            return name
    raise GitError(
        "cannot find a base branch (no origin/HEAD, main or master)", hint="pass --base REF"
    )


def _current_branch(repo) -> str:
    try:
        return repo.active_branch.name
    except (TypeError, ValueError):
        return ""  # detached HEAD


def local_diff(
    path: Path,
    *,
    base: str | None = None,
    staged: bool = False,
    working_tree: bool = False,
) -> LocalChange:
    """The diff of the current branch against its merge-base with ``base``.

    Committed changes by default; ``staged`` adds the index; ``working_tree`` adds unstaged edits and
    untracked (not ignored) files.
    """
    repo = _open_repo(path)
    root = Path(repo.working_tree_dir or path)
    head_sha = _rev(repo, "HEAD")
    if head_sha is None:
        raise GitError(
            "the repository has no commits yet", hint="commit something, or pass --diff FILE"
        )
    base_ref = base or detect_base(repo)
    base_sha = _rev(repo, base_ref)
    if base_sha is None:
        raise GitError(
            f"unknown base branch '{base_ref}'",
            hint="pass --base REF with an existing branch, e.g. --base origin/main",
        )
    try:
        merge_base = repo.git.merge_base(base_sha, head_sha).strip()
    except Exception:
        raise GitError(
            f"no common ancestor between HEAD and '{base_ref}'", hint="pass --base REF"
        ) from None

    common = [
        "--no-color",
        "--no-ext-diff",
        "--no-textconv",
        "-M",
        "-C",
        "--src-prefix=a/",
        "--dst-prefix=b/",
    ]
    if working_tree:
        mode = "working-tree"
        diff = _git_bytes(repo, "diff", *common, merge_base, "--")
        diff += _untracked_diff(repo)
    elif staged:
        mode = "staged"
        diff = _git_bytes(repo, "diff", "--cached", *common, merge_base, "--")
    else:
        mode = "committed"
        diff = _git_bytes(repo, "diff", *common, merge_base, head_sha, "--")

    change = _change_info(repo, base_ref, merge_base, head_sha)
    return LocalChange(diff=diff, change=change, repo_root=root, mode=mode)


def _untracked_diff(repo) -> bytes:
    names = _git_bytes(repo, "ls-files", "--others", "--exclude-standard", "-z").split(b"\0")
    parts: list[bytes] = []
    # prbot's own audit folder is output, not part of the change.
    wanted = [n for n in names if n and not n.startswith(b".prbot/")]
    for raw in wanted[:MAX_UNTRACKED]:
        name = os.fsdecode(raw)
        parts.append(
            _git_bytes(
                repo,
                "diff",
                "--no-color",
                "--no-ext-diff",
                "--no-textconv",
                "--src-prefix=a/",
                "--dst-prefix=b/",
                "--no-index",
                "--",
                os.devnull,
                name,
                ok_codes=(0, 1),
            )
        )
    return b"".join(parts)


def _change_info(repo, base_ref: str, base_sha: str, head_sha: str) -> ChangeInfo:
    log = repo.git.log("--format=%s%n%n%b%x00", f"{base_sha}..{head_sha}")
    messages = [m.strip() for m in log.split("\x00") if m.strip()]
    branch = _current_branch(repo)
    title = messages[0].splitlines()[0] if len(messages) == 1 else (branch or head_sha[:12])
    body = "\n\n".join(reversed(messages))
    try:
        author = repo.git.config("user.name").strip()
    except Exception:
        author = ""
    return ChangeInfo(
        title=title,
        body=body,
        author=author,
        base_ref=base_ref,
        head_ref=branch or head_sha[:12],
        base_sha=base_sha,
        head_sha=head_sha,
    )


def hooks_dir(path: Path) -> Path:
    """The repository's hooks folder, honouring ``core.hooksPath`` and worktrees."""
    repo = _open_repo(path)
    out = repo.git.rev_parse("--git-path", "hooks").strip()
    hooks = Path(out)
    return hooks if hooks.is_absolute() else Path(repo.working_tree_dir or path) / hooks
