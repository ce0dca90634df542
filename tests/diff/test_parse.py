"""parse_diff on real `git diff` output, plain `diff -u` output and hostile hand-written input."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
import unidiff

from prbot.diff.model import Diff, FileDiff, FileStatus
from prbot.diff.parse import parse_diff
from prbot.errors import DiffError, ExitCode
from tests.conftest import git

DATA = Path(__file__).parent / "data"


def git_bytes(repo: Path, *args: str) -> bytes:
    """Like ``git()`` but returns raw bytes: CRLF and non-UTF-8 must reach the parser untouched."""
    env = {**os.environ, "GIT_AUTHOR_NAME": "T", "GIT_AUTHOR_EMAIL": "t@example.com"}
    env |= {"GIT_COMMITTER_NAME": "T", "GIT_COMMITTER_EMAIL": "t@example.com"}
    return subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True).stdout


def parse_ok(data: bytes | str) -> Diff:
    diff, skipped = parse_diff(data)
    assert skipped == []
    return diff


def only(diff: Diff) -> FileDiff:
    assert len(diff.files) == 1, [f.path for f in diff.files]
    return diff.files[0]


def triples(f: FileDiff) -> list[tuple[str, int | None, int | None]]:
    return [(ln.kind, ln.old_no, ln.new_no) for h in f.hunks for ln in h.lines]


def commit_all(repo: Path, message: str = "change") -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)


# --------------------------------------------------------------------------- empty and garbage


@pytest.mark.parametrize("data", [b"", "", "   \n\t\n", b"\n\n", b"\xef\xbb\xbf", "\ufeff  \n"])
def test_empty_or_blank_input_is_an_empty_diff(data: bytes | str) -> None:
    diff, skipped = parse_diff(data)
    assert diff.files == [] and diff.is_empty
    assert skipped == []


@pytest.mark.parametrize(
    "data",
    [
        b"hello world\nthis is not a diff\n",
        b'{"files": [{"path": "a.py", "diff": "+x"}]}',
        b"\x00\x01\x02\xff\xfe binary junk",
        "--- only a dash line\nand prose\n",
        "--- a/x\n+++ b/x\nno hunk header follows\n",
    ],
)
def test_input_without_any_diff_raises_a_one_line_diff_error(data: bytes | str) -> None:
    with pytest.raises(DiffError) as info:
        parse_diff(data)
    err = info.value
    assert "\n" not in err.one_line()
    assert "unified diff" in err.message and "git diff" in err.message
    assert err.exit_code is ExitCode.USAGE


def test_hunks_without_file_headers_say_so() -> None:
    with pytest.raises(DiffError, match="hunks without file headers"):
        parse_diff("@@ -1 +1 @@\n-a\n+b\n")


def test_coloured_diff_gets_a_hint(git_repo: Path) -> None:
    (git_repo / "README.md").write_text("# changed\n")
    coloured = git(git_repo, "diff", "--color=always")
    assert "\x1b[" in coloured
    with pytest.raises(DiffError) as info:
        parse_diff(coloured)
    assert "--no-color" in info.value.one_line()


def test_empty_new_file_has_no_hunks(git_repo: Path) -> None:
    (git_repo / "__init__.py").write_text("")
    git(git_repo, "add", "-A")
    f = only(parse_ok(git(git_repo, "diff", "--cached")))
    assert (f.path, f.status, f.hunks, f.is_binary) == ("__init__.py", FileStatus.ADDED, [], False)


def test_preamble_before_the_first_file_is_ignored() -> None:
    text = "commit 123\nAuthor: x\n\n    message with --- dashes\n\n" + (
        "diff --git a/x.py b/x.py\n--- a/x.py\n+++ b/x.py\n@@ -1 +1 @@\n-a\n+b\n"
    )
    f = only(parse_ok(text))
    assert f.path == "x.py" and triples(f) == [("-", 1, None), ("+", None, 1)]


# --------------------------------------------------------------------------- real git output


def test_modified_file_line_numbers_sections_and_commentable_lines(git_repo: Path) -> None:
    # File line k + 1 holds "    v{k}" (line 1 is the def), indented so that git's default
    # funcname rule picks "def top():" as the hunk section.
    body = [f"    v{k}" for k in range(1, 31)]
    (git_repo / "m.py").write_text("def top():\n" + "\n".join(body) + "\n")
    commit_all(git_repo)
    new = list(body)
    new[1] = "    v2 changed"  # file line 3
    new.insert(20, "    inserted")  # becomes new line 22
    del new[27]  # "    v27", old line 28
    (git_repo / "m.py").write_text("def top():\n" + "\n".join(new) + "\n")
    f = only(parse_ok(git(git_repo, "diff")))

    assert f.path == "m.py" and f.status is FileStatus.MODIFIED and f.old_path is None
    assert f.old_mode == f.new_mode == "100644"
    # Three context lines around each change: old 1-6, and old 19-31 (insert before 22, drop 28).
    assert [(h.old_start, h.old_len, h.new_start, h.new_len) for h in f.hunks] == [
        (1, 6, 1, 6),
        (19, 13, 19, 13),
    ]
    assert f.hunks[0].section == ""
    assert f.hunks[1].section == "def top():"
    assert f.added_lines() == [(3, "    v2 changed"), (22, "    inserted")]
    assert [ln.old_no for h in f.hunks for ln in h.lines if ln.kind == "-"] == [3, 28]
    # Every new-side number a forge accepts: context and added lines of both hunks.
    assert f.commentable_lines() == frozenset(range(1, 7)) | frozenset(range(19, 32))
    assert f.line_text(22) == "    inserted"
    # Numbering across the insertion and the deletion: new 28 is old 27, new 29 is old 29.
    context = {ln.new_no: (ln.old_no, ln.text) for h in f.hunks for ln in h.lines if ln.kind == " "}
    assert context[28] == (27, "    v26")
    assert context[29] == (29, "    v28")
    assert f.line_text(7) is None
    assert (f.additions, f.deletions) == (2, 2)


def test_new_deleted_and_mode_only_files(git_repo: Path) -> None:
    (git_repo / "old.txt").write_text("bye\n")
    (git_repo / "run.sh").write_text("echo hi\n")
    commit_all(git_repo)
    (git_repo / "old.txt").unlink()
    (git_repo / "new.txt").write_text("a\nb\n")
    (git_repo / "run.sh").chmod(0o755)
    git(git_repo, "add", "-A")
    diff = parse_ok(git(git_repo, "diff", "--cached"))
    by = {f.path: f for f in diff.files}
    assert set(by) == {"old.txt", "new.txt", "run.sh"}

    new = by["new.txt"]
    assert new.status is FileStatus.ADDED and new.new_mode == "100644" and new.old_mode is None
    assert triples(new) == [("+", None, 1), ("+", None, 2)]
    assert (new.hunks[0].old_start, new.hunks[0].old_len) == (0, 0)

    gone = by["old.txt"]
    assert gone.status is FileStatus.DELETED and gone.old_mode == "100644"
    assert triples(gone) == [("-", 1, None)]
    assert gone.commentable_lines() == frozenset()

    mode = by["run.sh"]
    assert mode.status is FileStatus.MODIFIED and mode.hunks == [] and not mode.is_binary
    assert (mode.old_mode, mode.new_mode) == ("100644", "100755") and mode.mode_changed


def test_pure_rename_rename_with_edits_and_spaces(git_repo: Path) -> None:
    (git_repo / "my notes.txt").write_text("same\n")
    (git_repo / "calc.py").write_text("".join(f"v{i} = {i}\n" for i in range(20)))
    commit_all(git_repo)
    git(git_repo, "mv", "my notes.txt", "your notes.txt")
    git(git_repo, "mv", "calc.py", "compute.py")
    (git_repo / "compute.py").write_text("".join(f"v{i} = {i}\n" for i in range(19)) + "v19 = 42\n")
    git(git_repo, "add", "-A")
    by = {f.path: f for f in parse_ok(git(git_repo, "diff", "--cached", "-M")).files}

    pure = by["your notes.txt"]
    assert pure.status is FileStatus.RENAMED and pure.old_path == "my notes.txt"
    assert pure.hunks == [] and not pure.is_binary

    edited = by["compute.py"]
    assert edited.status is FileStatus.RENAMED and edited.old_path == "calc.py"
    assert edited.added_lines() == [(20, "v19 = 42")]


def test_copy_detection(git_repo: Path) -> None:
    (git_repo / "base.py").write_text("".join(f"x{i} = {i}\n" for i in range(10)))
    commit_all(git_repo)
    (git_repo / "clone.py").write_text("".join(f"x{i} = {i}\n" for i in range(10)) + "extra = 1\n")
    git(git_repo, "add", "-A")
    out = git(git_repo, "diff", "--cached", "-C", "--find-copies-harder")
    assert "copy from base.py" in out  # the case under test really is a copy
    f = only(parse_ok(out))
    assert f.status is FileStatus.COPIED and f.path == "clone.py" and f.old_path == "base.py"
    assert f.added_lines() == [(11, "extra = 1")]


@pytest.mark.parametrize("binary_flag", [[], ["--binary"]])
def test_binary_files_in_both_git_forms(git_repo: Path, binary_flag: list[str]) -> None:
    (git_repo / "img.bin").write_bytes(b"\x00\x01PNG" * 50)
    commit_all(git_repo)
    (git_repo / "img.bin").write_bytes(b"\x00\x02PNG" * 60)
    (git_repo / "fresh.bin").write_bytes(bytes(range(256)))
    (git_repo / "z.txt").write_text("after the binaries\n")
    git(git_repo, "add", "-A")
    out = git(git_repo, "diff", "--cached", *binary_flag)
    assert ("GIT binary patch" in out) == bool(binary_flag)
    by = {f.path: f for f in parse_ok(out).files}
    assert set(by) == {"img.bin", "fresh.bin", "z.txt"}
    assert by["img.bin"].is_binary and by["img.bin"].hunks == []
    assert by["img.bin"].status is FileStatus.MODIFIED
    assert by["fresh.bin"].is_binary and by["fresh.bin"].status is FileStatus.ADDED
    # The base85 patch data must not leak into the next file.
    assert not by["z.txt"].is_binary and by["z.txt"].added_lines() == [(1, "after the binaries")]


def test_no_newline_at_end_of_file_is_not_a_line(git_repo: Path) -> None:
    (git_repo / "n.txt").write_text("a\nb")
    commit_all(git_repo)
    (git_repo / "n.txt").write_text("a\nc")
    out = git(git_repo, "diff")
    assert "\\ No newline at end of file" in out
    f = only(parse_ok(out))
    assert [(ln.kind, ln.text) for ln in f.hunks[0].lines] == [(" ", "a"), ("-", "b"), ("+", "c")]
    assert triples(f) == [(" ", 1, 1), ("-", 2, None), ("+", None, 2)]


def test_localised_no_newline_marker_is_ignored_too() -> None:
    text = (
        "--- a/n.txt\n+++ b/n.txt\n@@ -1 +1 @@\n-b\n\\ Kein Zeilenumbruch am Dateiende.\n+c\n"
        "\\ Kein Zeilenumbruch am Dateiende.\n@@ -9 +9 @@\n-x\n+y\n"
    )
    f = only(parse_ok(text))
    assert [(ln.kind, ln.text) for h in f.hunks for ln in h.lines] == [
        ("-", "b"), ("+", "c"), ("-", "x"), ("+", "y")
    ]  # fmt: skip


def test_crlf_content_and_crlf_diff_parse_the_same(git_repo: Path) -> None:
    (git_repo / "w.txt").write_bytes(b"one\r\ntwo\r\nthree\r\n")
    commit_all(git_repo)
    (git_repo / "w.txt").write_bytes(b"one\r\nTWO\r\nthree\r\nfour\r\n")
    raw = git_bytes(git_repo, "diff")
    assert b"+TWO\r\n" in raw  # git passed the carriage returns through
    f = only(parse_ok(raw))
    assert [(ln.kind, ln.text) for ln in f.hunks[0].lines] == [
        (" ", "one"), ("-", "two"), ("+", "TWO"), (" ", "three"), ("+", "four")
    ]  # fmt: skip
    assert f.added_lines() == [(2, "TWO"), (4, "four")]

    # The whole diff saved with Windows line endings (headers included) reads the same.
    all_crlf = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    g = only(parse_ok(all_crlf))
    assert g.path == "w.txt" and g.hunks == f.hunks


def test_paths_with_spaces_quotes_tabs_and_non_ascii(git_repo: Path) -> None:
    names = ["sp ace.txt", "café.txt", 'say "hi".txt', "tab\there.txt", "dir b/x b/y.txt"]
    (git_repo / "dir b" / "x b").mkdir(parents=True)
    for name in names:
        (git_repo / name).write_text("content\n")
    git(git_repo, "add", "-A")
    out = git(git_repo, "diff", "--cached")
    assert '"b/caf\\303\\251.txt"' in out and "+++ b/sp ace.txt\t" in out  # git's own quoting
    diff = parse_ok(out)
    assert sorted(f.path for f in diff.files) == sorted(names)
    assert all(
        f.status is FileStatus.ADDED and f.added_lines() == [(1, "content")] for f in diff.files
    )

    # Mode-only change on a name with spaces: only the `diff --git` line names it.
    commit_all(git_repo)
    (git_repo / "sp ace.txt").chmod(0o755)
    f = only(parse_ok(git(git_repo, "diff")))
    assert f.path == "sp ace.txt" and f.mode_changed


def test_rename_with_spaces_and_no_hunks_uses_rename_lines(git_repo: Path) -> None:
    (git_repo / "a b.txt").write_text("x\n")
    commit_all(git_repo)
    git(git_repo, "mv", "a b.txt", "c d b e.txt")
    f = only(parse_ok(git(git_repo, "diff", "--cached", "-M")))
    assert (f.path, f.old_path, f.status) == ("c d b e.txt", "a b.txt", FileStatus.RENAMED)


@pytest.mark.parametrize(
    ("config", "flags"),
    [([], []), ([], ["--no-prefix"]), (["-c", "diff.mnemonicPrefix=true"], [])],
)
def test_prefix_styles(git_repo: Path, config: list[str], flags: list[str]) -> None:
    (git_repo / "pkg").mkdir()
    (git_repo / "pkg" / "m.py").write_text("x = 1\n")
    commit_all(git_repo)
    (git_repo / "pkg" / "m.py").write_text("x = 2\n")
    # A real directory named "b": under --no-prefix its "+++ b/in_b.py" must keep the "b/".
    (git_repo / "b").mkdir()
    (git_repo / "b" / "in_b.py").write_text("y = 1\n")
    git(git_repo, "add", "-N", "b/in_b.py")
    diff = parse_ok(git(git_repo, *config, "diff", *flags))
    assert sorted(f.path for f in diff.files) == ["b/in_b.py", "pkg/m.py"]
    assert diff.file("b/in_b.py").status is FileStatus.ADDED  # type: ignore[union-attr]


def test_format_patch_and_git_log_output(git_repo: Path) -> None:
    (git_repo / "q.sql").write_text("-- comment\nselect 1;\n")
    commit_all(git_repo, "one")
    (git_repo / "q.sql").write_text("++ plus\nselect 1;\n")
    (git_repo / "r.txt").write_text("r\n")
    commit_all(git_repo, "two\n\n    indented --- body\n+ plus line in message")
    patch = git(git_repo, "format-patch", "-1", "--stdout")
    assert "\n-- \n" in patch  # the signature the parser must not take for a removed line
    by = {f.path: f for f in parse_ok(patch).files}
    assert by["q.sql"].added_lines() == [(1, "++ plus")]
    assert [ln.text for ln in by["q.sql"].hunks[0].lines if ln.kind == "-"] == ["-- comment"]
    assert by["r.txt"].status is FileStatus.ADDED

    log = git(git_repo, "log", "-p", "-2")
    paths = [f.path for f in parse_ok(log).files]
    assert sorted(paths) == ["q.sql", "q.sql", "r.txt"]


# --------------------------------------------------------------------------- plain diff -u


def test_plain_diff_ruN_fixture() -> None:
    diff = parse_ok((DATA / "plain_ruN.diff").read_bytes())
    by = {f.path: f for f in diff.files}
    assert list(by) == ["docs/gone.md", "docs/new file.md", "src/app.py", "src/q.sql"]
    assert by["docs/gone.md"].status is FileStatus.DELETED
    assert by["docs/new file.md"].status is FileStatus.ADDED
    assert by["docs/new file.md"].added_lines() == [(1, "brand new"), (2, "file")]
    app = by["src/app.py"]
    assert app.status is FileStatus.MODIFIED
    assert app.added_lines() == [
        (2, "    return 10"),
        (7, ""),
        (8, ""),
        (9, "def h():"),
        (10, "    return 3"),
    ]
    # "--- a sql comment" / "+++ not a header" inside a hunk are lines, not file headers.
    assert [(ln.kind, ln.text) for ln in by["src/q.sql"].hunks[0].lines] == [
        ("-", "-- a sql comment"), ("+", "++ not a header"), (" ", "select 1;")
    ]  # fmt: skip


def test_plain_diff_without_prefixes_and_dev_null() -> None:
    text = (
        "--- config.ini.orig\t2024-01-01 10:00:00\n+++ config.ini\t2024-01-02 10:00:00\n"
        "@@ -1,2 +1,2 @@ [section]\n key=1\n-old=2\n+new=2\n"
        "--- /dev/null\n+++ b/fresh.py\n@@ -0,0 +1 @@\n+print(1)\n"
        "--- a/empty_before.py\t2024-01-01 10:00:00\n+++ b/empty_before.py\t2024-01-01 11:00:00\n"
        "@@ -0,0 +1 @@\n+x = 1\n"
    )
    by = {f.path: f for f in parse_ok(text).files}
    assert list(by) == ["config.ini", "fresh.py", "empty_before.py"]
    assert by["config.ini"].status is FileStatus.MODIFIED
    assert by["config.ini"].hunks[0].section == "[section]"
    assert by["fresh.py"].status is FileStatus.ADDED
    # An empty file that gains a line is a modification, not a new file (no epoch timestamp).
    assert by["empty_before.py"].status is FileStatus.MODIFIED


def test_hunk_header_without_counts_means_one_line() -> None:
    f = only(parse_ok("--- a/x\n+++ b/x\n@@ -7 +7 @@ fn()\n-a\n+b\n"))
    h = f.hunks[0]
    assert (h.old_start, h.old_len, h.new_start, h.new_len, h.section) == (7, 1, 7, 1, "fn()")


def test_blank_context_line_without_its_space() -> None:
    # Mail clients and editors strip the single space of an empty context line.
    f = only(parse_ok("--- a/x\n+++ b/x\n@@ -1,3 +1,3 @@\n a\n\n-c\n+C\n"))
    assert triples(f) == [(" ", 1, 1), (" ", 2, 2), ("-", 3, None), ("+", None, 3)]


# --------------------------------------------------------------------------- broken input


def _three_files(middle_hunk: str) -> str:
    good = "diff --git a/{0} b/{0}\n--- a/{0}\n+++ b/{0}\n@@ -1,2 +1,2 @@\n ctx\n-old\n+new\n"
    return good.format("first.py") + middle_hunk + good.format("last.py")


@pytest.mark.parametrize(
    ("middle", "expected"),
    [
        ("@@ -1,5 +1,5 @@\n ctx\n-old\n+new\n", "fewer lines"),  # counts too big
        ("@@ -1,1 +1,1 @@\n ctx\n-old\n+new\n+more\n", "more lines"),  # counts too small
        ("@@ -1,2 +1 @@\n-a\n+b\n+c\n", "more lines"),
        ("@@ -1,x +1,2 @@\n ctx\n+new\n", "malformed hunk header"),
        ("@@ -1," + "9" * 5000 + " +1 @@\n-a\n", "malformed hunk header"),  # no int() blow-up
    ],
)
def test_lying_hunk_counts_skip_only_that_file(middle: str, expected: str) -> None:
    text = _three_files("diff --git a/mid.py b/mid.py\n--- a/mid.py\n+++ b/mid.py\n" + middle)
    diff, skipped = parse_diff(text)
    assert [f.path for f in diff.files] == ["first.py", "last.py"]
    assert all(f.added_lines() == [(2, "new")] for f in diff.files)
    assert len(skipped) == 1 and skipped[0].path == "mid.py"
    assert skipped[0].reason.startswith("could not parse diff: ") and expected in skipped[0].reason


def test_truncated_diff_keeps_the_complete_files() -> None:
    text = _three_files("")[: -len("-old\n+new\n")]  # cut inside the last file's hunk
    diff, skipped = parse_diff(text)
    assert [f.path for f in diff.files] == ["first.py"]
    assert [s.path for s in skipped] == ["last.py"] and "truncated" in skipped[0].reason


def test_plain_files_after_a_broken_hunk_are_found_again() -> None:
    text = (
        "--- a/one\n+++ b/one\n@@ -1,9 +1,9 @@\n-x\n+y\n"  # promises 9 lines, has 2
        "--- a/two\n+++ b/two\n@@ -1 +1 @@\n-p\n+q\n"
    )
    diff, skipped = parse_diff(text)
    assert [f.path for f in diff.files] == ["two"] and [s.path for s in skipped] == ["one"]


def test_combined_merge_diff_is_skipped_with_a_reason() -> None:
    text = (
        "diff --cc merged.py\nindex 1,2..3\n--- a/merged.py\n+++ b/merged.py\n"
        "@@@ -1,1 -1,1 +1,1 @@@\n- a\n -b\n++c\n"
        "diff --git a/ok.py b/ok.py\n--- a/ok.py\n+++ b/ok.py\n@@ -1 +1 @@\n-a\n+b\n"
    )
    diff, skipped = parse_diff(text)
    assert [f.path for f in diff.files] == ["ok.py"]
    assert skipped == [skipped[0]] and skipped[0].path == "merged.py"
    assert "combined" in skipped[0].reason


def test_header_without_a_usable_name() -> None:
    diff, skipped = parse_diff("diff --git onlyonename\n")
    assert diff.files == [] and [s.path for s in skipped] == ["<unknown>"]


def test_non_utf8_bytes_are_replaced_not_fatal() -> None:
    raw = (
        b"diff --git a/legacy.txt b/legacy.txt\n--- a/legacy.txt\n+++ b/legacy.txt\n"
        b"@@ -1,2 +1,3 @@\n caf\xe9\n-na\xefve\n+na\xc3\xafve\n+\xff\xfe\x00end\n"
    )
    f = only(parse_ok(raw))
    assert [(ln.kind, ln.text) for ln in f.hunks[0].lines] == [
        (" ", "caf\ufffd"), ("-", "na\ufffdve"), ("+", "naïve"), ("+", "\ufffd\ufffd\x00end")
    ]  # fmt: skip


def test_utf8_bom_is_stripped() -> None:
    raw = b"\xef\xbb\xbfdiff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n"
    assert only(parse_ok(raw)).path == "x"


def test_odd_line_separators_inside_lines_are_content() -> None:
    text = "--- a/x\n+++ b/x\n@@ -1 +1,2 @@\n-a\x0bb\n+a\u2028b\n+c\x1cd\rx\n"
    f = only(parse_ok(text))
    assert [ln.text for ln in f.hunks[0].lines] == ["a\x0bb", "a\u2028b", "c\x1cd\rx"]


def test_unidiff_disagreement_skips_that_file_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """If unidiff (the cross-check) rejects one file's hunks, that file alone is skipped."""
    real = unidiff.PatchSet

    def picky(source: Iterable[str], *args: Any, **kwargs: Any) -> unidiff.PatchSet:
        lines = list(source)
        if any("poison" in ln for ln in lines):
            raise unidiff.UnidiffParseError("Hunk is longer than expected")
        return real(lines, *args, **kwargs)

    monkeypatch.setattr(unidiff, "PatchSet", picky)
    text = (
        "--- a/one\n+++ b/one\n@@ -1 +1 @@\n-x\n+poison\n"
        "--- a/two\n+++ b/two\n@@ -1 +1 @@\n-p\n+q\n"
    )
    diff, skipped = parse_diff(text)
    assert [f.path for f in diff.files] == ["two"]
    assert skipped[0].path == "one"
    assert skipped[0].reason == "could not parse diff: Hunk is longer than expected"


def test_big_diff_parses_completely() -> None:
    parts = []
    for i in range(200):
        parts.append(f"diff --git a/f{i}.py b/f{i}.py\n--- a/f{i}.py\n+++ b/f{i}.py\n")
        parts.append(
            "@@ -1,2 +1,102 @@\n ctx\n" + "".join(f"+v{j} = {j}\n" for j in range(100)) + " end\n"
        )
    diff, skipped = parse_diff("".join(parts).encode())
    assert skipped == [] and len(diff.files) == 200 and diff.additions == 20_000
    assert diff.files[-1].added_lines()[-1] == (101, "v99 = 99")
