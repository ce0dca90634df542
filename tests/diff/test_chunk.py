"""render_file and chunk_diff: the model's view of a diff, and budgets that never lose a line."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prbot.diff.chunk import TRUNCATION_MARKER, Chunk, approx_tokens, chunk_diff, render_file
from prbot.diff.model import Diff, DiffLine, FileDiff, FileStatus, Hunk
from prbot.diff.parse import parse_diff

# A rendered diff line: new line number right-aligned in 5 columns (or blanks), a space, the kind.
_DIFF_LINE = re.compile(r"^(?: {5}| *(\d+)) ([-+ ])(.*)$", re.DOTALL)
_PART = re.compile(r" \(part (\d+)/(\d+)\)$")


def build_file(
    path: str,
    hunks: Sequence[Sequence[tuple[str, str]]],
    *,
    status: FileStatus = FileStatus.MODIFIED,
    old_path: str | None = None,
    first: int = 1,
    gap: int = 10,
) -> FileDiff:
    """A FileDiff whose numbering is what git would write for these hunks."""
    out: list[Hunk] = []
    old_pos = new_pos = first
    for spec in hunks:
        lines: list[DiffLine] = []
        o, n = old_pos, new_pos
        for kind, text in spec:
            lines.append(
                DiffLine(kind, text, None if kind == "+" else o, None if kind == "-" else n)
            )
            o += kind != "+"
            n += kind != "-"
        old_len, new_len = o - old_pos, n - new_pos
        out.append(
            Hunk(
                old_pos if old_len else max(old_pos - 1, 0),
                old_len,
                new_pos if new_len else max(new_pos - 1, 0),
                new_len,
                "def f():",
                lines,
            )
        )
        old_pos, new_pos = o + gap, n + gap
    return FileDiff(path=path, status=status, old_path=old_path, hunks=out)


def added(diff: Diff) -> set[tuple[str, int]]:
    return {(f.path, n) for f in diff.files if not f.is_binary for n, _ in f.added_lines()}


def to_unified(text: str) -> str:
    """Turn a chunk back into a unified diff, dropping the number column (for round trips)."""
    out: list[str] = []
    for line in text.split("\n"):
        if line.startswith("### File: "):
            path = line[len("### File: ") :].split(" (", 1)[0]
            out += [f"--- a/{path}", f"+++ b/{path}"]
        elif line.startswith("@@ "):
            out.append(line)
        elif line:
            m = _DIFF_LINE.match(line)
            assert m, line
            out.append(m.group(2) + m.group(3))
    return "\n".join(out) + "\n"


def shown_numbers(text: str) -> list[tuple[str, int]]:
    """(kind, number) of every numbered line of a rendered chunk."""
    found = [_DIFF_LINE.match(ln) for ln in text.split("\n")]
    return [(m.group(2), int(m.group(1))) for m in found if m and m.group(1)]


# --------------------------------------------------------------------------- approx_tokens


@pytest.mark.parametrize(
    ("n", "expected"), [(0, 0), (1, 1), (3, 1), (4, 2), (7, 2), (8, 3), (35, 10), (36, 11)]
)
def test_approx_tokens_is_ceil_of_len_over_3_5(n: int, expected: int) -> None:
    assert approx_tokens("x" * n) == expected


# --------------------------------------------------------------------------- render_file


def test_render_file_format() -> None:
    f = build_file(
        "src/app.py",
        [[(" ", "def f(x):"), ("-", "    return x"), ("+", "    return x + 1"), (" ", "")]],
        first=11,
    )
    assert render_file(f) == (
        "### File: src/app.py\n"
        "@@ -11,3 +11,3 @@ def f():\n"
        "   11  def f(x):\n"
        "      -    return x\n"
        "   12 +    return x + 1\n"
        "   13  \n"
    )


@pytest.mark.parametrize(
    ("status", "old_path", "suffix"),
    [
        (FileStatus.RENAMED, "old/name.py", " (renamed from old/name.py)"),
        (FileStatus.COPIED, "base.py", " (copied from base.py)"),
        (FileStatus.ADDED, None, " (new file)"),
        (FileStatus.DELETED, None, " (deleted)"),
        (FileStatus.MODIFIED, None, ""),
    ],
)
def test_render_file_header_says_what_happened(
    status: FileStatus, old_path: str | None, suffix: str
) -> None:
    f = build_file("x.py", [[("+", "a")]], status=status, old_path=old_path)
    assert render_file(f).split("\n")[0] == f"### File: x.py{suffix}"
    assert render_file(f, part=(2, 3)).split("\n")[0] == f"### File: x.py{suffix} (part 2/3)"


def test_render_binary_and_mode_change() -> None:
    assert (
        render_file(FileDiff(path="logo.png", is_binary=True))
        == "### File: logo.png (binary file, content not shown)\n"
    )
    mode = FileDiff(path="run.sh", old_mode="100644", new_mode="100755")
    assert render_file(mode) == "### File: run.sh (mode 100644 -> 100755)\n"


def test_render_subset_of_hunks_and_wide_numbers() -> None:
    f = build_file("big.txt", [[("+", "a")], [("+", "b")]], first=123_456)
    n = f.hunks[1].lines[0].new_no
    assert n is not None and n > 99_999
    text = render_file(f, [f.hunks[1]])
    assert "+a" not in text and text.endswith(f"\n{n} +b\n")
    assert shown_numbers(text) == [("+", n)]


def test_line_breaks_inside_a_line_cannot_forge_lines() -> None:
    evil = "x\r   99 +fake\u2028   98 +fake\x0bz\nq"
    f = build_file("e.py", [[("+", evil), (" ", "ok")]])
    text = render_file(f)
    assert len(text.splitlines()) == 4  # header, @@, two diff lines
    assert shown_numbers(text) == [("+", 1), (" ", 2)]
    assert "\\r" in text and "\\u2028" in text and "\\x0b" in text and "\\n" in text


# --------------------------------------------------------------------------- chunk_diff


def test_everything_fits_in_one_chunk() -> None:
    a = build_file("a.py", [[("+", "x = 1")]])
    b = build_file("b.py", [[("-", "y = 1"), ("+", "y = 2")]])
    (chunk,) = chunk_diff(Diff([a, b]), max_tokens=10_000)
    assert chunk == Chunk(
        index=0,
        text=render_file(a) + "\n" + render_file(b),
        tokens=approx_tokens(render_file(a) + "\n" + render_file(b)),
        paths=("a.py", "b.py"),
        lines=frozenset({("a.py", 1), ("b.py", 1)}),
    )


def test_whole_files_are_packed_in_order_up_to_the_budget() -> None:
    files = [build_file(f"f{i}.py", [[("+", f"value_{i} = {'x' * 40}")] * 3]) for i in range(3)]
    sizes = [approx_tokens(render_file(f)) for f in files]
    budget = sizes[0] + sizes[1] + approx_tokens("\n")  # room for two files and the blank line
    chunks = chunk_diff(Diff(files), max_tokens=budget)
    assert [c.paths for c in chunks] == [("f0.py", "f1.py"), ("f2.py",)]
    assert all(c.tokens <= budget for c in chunks)
    assert "part" not in chunks[0].text  # nothing was split


def test_big_file_is_split_at_hunk_boundaries_with_repeated_headers() -> None:
    hunks = [[(" ", f"ctx {h}"), ("+", f"new {h} " + "y" * 60)] for h in range(3)]
    f = build_file("pkg/mod.py", hunks, status=FileStatus.RENAMED, old_path="pkg/old.py")
    one_hunk = approx_tokens(render_file(f, [f.hunks[0]], part=(1, 3)))
    chunks = chunk_diff(Diff([f]), max_tokens=one_hunk + 5)  # one hunk per part, not two
    assert len(chunks) == 3
    headers = [c.text.split("\n")[0] for c in chunks]
    assert headers == [
        f"### File: pkg/mod.py (renamed from pkg/old.py) (part {i}/3)" for i in (1, 2, 3)
    ]
    # Each part holds one original hunk, untouched.
    for c, h in zip(chunks, f.hunks, strict=True):
        assert (
            c.text.split("\n")[1]
            == f"@@ -{h.old_start},{h.old_len} +{h.new_start},{h.new_len} @@ def f():"
        )
        assert c.lines == {("pkg/mod.py", h.lines[1].new_no)}


def test_huge_single_hunk_is_split_into_windows_that_are_valid_hunks() -> None:
    spec = []
    for i in range(120):
        spec.append(
            (" ", f"keep {i}")
            if i % 3 == 0
            else ("-", f"old {i}")
            if i % 3 == 1
            else ("+", f"new {i}")
        )
    f = build_file("one.py", [spec], first=50)
    chunks = chunk_diff(Diff([f]), max_tokens=120)
    assert len(chunks) > 5
    assert all(c.tokens <= 120 for c in chunks)
    assert set().union(*(c.lines for c in chunks)) == added(Diff([f]))
    n = len(chunks)
    for i, c in enumerate(chunks, 1):
        assert c.text.startswith(f"### File: one.py (part {i}/{n})\n")
        # Read back as a unified diff, each window parses and its numbers are the ones shown.
        back_diff, skipped = parse_diff(to_unified(c.text))
        assert skipped == []
        (back,) = back_diff.files
        assert [
            (ln.kind, ln.new_no) for h in back.hunks for ln in h.lines if ln.kind != "-"
        ] == shown_numbers(c.text)
        originals = {ln.new_no: ln.text for h in f.hunks for ln in h.lines if ln.kind != "-"}
        assert all(originals[n_] == t for n_, t in back.added_lines())


def test_a_line_over_the_budget_is_truncated_into_its_own_chunk() -> None:
    f = build_file("min.js", [[("+", "short()"), ("+", "z" * 5000), ("+", "tail()")]])
    chunks = chunk_diff(Diff([f]), max_tokens=60)
    assert set().union(*(c.lines for c in chunks)) == {("min.js", 1), ("min.js", 2), ("min.js", 3)}
    (cut,) = [c for c in chunks if ("min.js", 2) in c.lines]
    assert cut.lines == {("min.js", 2)}
    assert TRUNCATION_MARKER in cut.text and "z" * 20 in cut.text
    assert cut.tokens <= 60  # truncated to fit next to its headers
    assert all(c.tokens <= 60 for c in chunks)


def test_budget_smaller_than_any_header_still_covers_every_line() -> None:
    f = build_file("a.py", [[("+", "alpha"), ("+", "beta")]])
    chunks = chunk_diff(Diff([f]), max_tokens=3)
    assert [c.lines for c in chunks] == [{("a.py", 1)}, {("a.py", 2)}]
    assert all(len(shown_numbers(c.text)) == 1 and TRUNCATION_MARKER in c.text for c in chunks)


def test_binary_and_hunkless_files_are_not_chunked() -> None:
    text_file = build_file("t.py", [[("+", "x")]])
    diff = Diff(
        [
            FileDiff(path="a.png", is_binary=True),
            FileDiff(path="new.py", status=FileStatus.RENAMED, old_path="old.py"),
            text_file,
        ]
    )
    (chunk,) = chunk_diff(diff, max_tokens=1000)
    assert chunk.paths == ("t.py",) and "a.png" not in chunk.text
    assert chunk_diff(Diff([FileDiff(path="a.png", is_binary=True)]), max_tokens=1000) == []
    assert chunk_diff(Diff([]), max_tokens=1000) == []


def test_custom_token_counter_is_used() -> None:
    f = build_file("a.py", [[("+", "x" * 30)] * 4])
    chunks = chunk_diff(Diff([f]), max_tokens=150, count_tokens=len)
    assert len(chunks) > 1
    assert all(c.tokens == len(c.text) <= 150 for c in chunks)


def test_max_tokens_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_tokens"):
        chunk_diff(Diff([]), max_tokens=0)


# --------------------------------------------------------------------------- the invariant


def _words(text: str) -> int:
    return len(text.split())


def _superadditive(text: str) -> int:
    # Not additive over lines: the estimates undershoot and the re-split path has to work.
    return len(text) // 3 + len(text) ** 2 // 4000


_TEXT = st.one_of(
    st.text(alphabet="abz _(){};\t\r\u2028é€", max_size=40),
    st.integers(min_value=150, max_value=900).map(lambda n: "w" * n),
)
_HUNK = st.lists(st.tuples(st.sampled_from(["+", "-", " "]), _TEXT), min_size=1, max_size=30)


@st.composite
def diffs(draw: st.DrawFn) -> Diff:
    files: list[FileDiff] = []
    for i in range(draw(st.integers(min_value=0, max_value=5))):
        kind = draw(st.sampled_from(["text", "text", "text", "binary", "rename"]))
        if kind == "binary":
            files.append(FileDiff(path=f"bin{i}.png", is_binary=True))
        elif kind == "rename":
            files.append(
                FileDiff(path=f"moved{i}.py", status=FileStatus.RENAMED, old_path=f"o{i}.py")
            )
        else:
            hunks = draw(st.lists(_HUNK, min_size=1, max_size=4))
            files.append(build_file(f"dir/file {i}.py", hunks, first=draw(st.integers(1, 200_000))))
    return Diff(files)


@settings(max_examples=150, deadline=None)
@given(
    diff=diffs(),
    max_tokens=st.integers(min_value=1, max_value=400),
    counter=st.sampled_from([approx_tokens, _words, _superadditive]),
)
def test_no_reviewable_line_is_ever_lost(
    diff: Diff, max_tokens: int, counter: Callable[[str], int]
) -> None:
    chunks = chunk_diff(diff, max_tokens=max_tokens, count_tokens=counter)
    covered = [line for c in chunks for line in c.lines]
    assert set(covered) == added(diff)
    assert len(covered) == len(set(covered))  # and none is sent twice
    assert [c.index for c in chunks] == list(range(len(chunks)))
    for c in chunks:
        assert c.tokens == counter(c.text)
        numbered = [ln for ln in c.text.split("\n") if _DIFF_LINE.match(ln)]
        if c.tokens > max_tokens:  # only a lone line that cannot fit even truncated
            assert len(numbered) == 1 and TRUNCATION_MARKER in c.text
        for path, n in c.lines:  # every claimed line is really shown, with its number
            assert path in c.paths
            assert any(ln.startswith(f"{n:>5} +") for ln in numbered)
    assert chunk_diff(diff, max_tokens=max_tokens, count_tokens=counter) == chunks  # deterministic
