"""The builtin reviewer, on diffs built from the diff model directly (and one real git diff)."""

from __future__ import annotations

import random
import string
from pathlib import Path

import pytest

from prbot.config.schema import BuiltinChecks
from prbot.diff.model import Diff, DiffLine, FileDiff, FileStatus, Hunk
from prbot.models import Finding, Severity
from prbot.review.builtin import RULES, builtin_review, rule_disabled
from tests.conftest import git

ALNUM = string.ascii_letters + string.digits


def rand(n: int, seed: str, alphabet: str = ALNUM) -> str:
    rng = random.Random(seed)
    return "".join(rng.choice(alphabet) for _ in range(n))


GH_TOKEN = "gh" + "p_" + rand(36, "builtin-gh")
AWS_ID = "AK" + "IA" + rand(16, "builtin-aws", string.ascii_uppercase + "234567")
PASSWORD = rand(14, "builtin-pw") + "!#"


def added(
    path: str, lines: list[str], *, start: int = 1, status: FileStatus = FileStatus.ADDED
) -> FileDiff:
    """A file whose hunk is only added lines, numbered from ``start`` on the new side."""
    hunk = Hunk(
        0,
        0,
        start,
        len(lines),
        lines=[DiffLine("+", t, None, start + i) for i, t in enumerate(lines)],
    )
    return FileDiff(path, status=status, hunks=[hunk])


def hunk_file(path: str, rows: list[tuple[str, str]], *, old: int = 1, new: int = 1) -> FileDiff:
    """A modified file from ``(kind, text)`` rows, with old/new numbers filled in."""
    lines = []
    o, n = old, new
    for kind, text in rows:
        lines.append(DiffLine(kind, text, o if kind != "+" else None, n if kind != "-" else None))
        o += kind != "+"
        n += kind != "-"
    hunk = Hunk(old, o - old, new, n - new, lines=lines)
    return FileDiff(path, status=FileStatus.MODIFIED, hunks=[hunk])


def review(*files: FileDiff, **cfg: object) -> list[Finding]:
    return builtin_review(Diff(files=list(files)), BuiltinChecks(**cfg))


def rules(findings: list[Finding], path: str | None = None) -> list[tuple[int | None, str]]:
    return [(f.line, f.rule) for f in findings if path is None or f.path == path]


def line_rules(findings: list[Finding]) -> list[tuple[int | None, str]]:
    """Findings without the change-level ``missing-tests`` one, which most tests do not care about."""
    return [(f.line, f.rule) for f in findings if f.rule != "missing-tests"]


def line_findings(found: list[Finding]) -> list[Finding]:
    return [f for f in found if f.rule != "missing-tests"]


def fields(f: Finding) -> str:
    return "\n".join([f.path, f.message, f.anchor, f.suggestion or ""])


# --- secrets --------------------------------------------------------------------------------------


def test_secret_finding_is_masked_everywhere_and_on_the_new_line_number() -> None:
    f = added(
        "app/settings.py", ["import os", f'GITHUB_TOKEN = "{GH_TOKEN}"  # TODO move'], start=40
    )
    found = line_findings(review(f))
    assert line_rules(found) == [(41, "secret/github-token"), (41, "todo-added")]
    secret = found[0]
    assert secret.severity is Severity.ERROR
    assert secret.message == f"GitHub token added: {GH_TOKEN[:4]}…{GH_TOKEN[-4:]}"
    assert secret.anchor == f'GITHUB_TOKEN = "{GH_TOKEN[:4]}…{GH_TOKEN[-4:]}"  # TODO move'
    assert "rotate" in (secret.suggestion or "") and "environment" in (secret.suggestion or "")
    for finding in found:  # the TODO finding on the same line is masked too
        assert GH_TOKEN not in fields(finding)
        assert GH_TOKEN not in str(finding.to_dict())


@pytest.mark.parametrize(
    ("line", "rule"),
    [
        (f"aws_access_key_id = {AWS_ID}", "secret/aws-access-key-id"),
        (f'db_password = "{PASSWORD}"', "secret/generic-secret"),
        ("SLACK_WEBHOOK=https://hooks.slack.com/services/T" + rand(9, "t") + "/B" + rand(9, "b") + "/" + rand(24, "w"), "secret/slack-webhook"),
    ],
)  # fmt: skip
def test_secret_kinds_become_rule_ids(line: str, rule: str) -> None:
    found = line_findings(review(added("config/app.env", [line])))
    assert line_rules(found) == [(1, rule)]
    assert found[0].severity is Severity.ERROR
    value = line.split("=", 1)[1].strip().strip('"')
    assert value not in fields(found[0])


def test_generic_secret_message_says_possible_and_hides_short_values() -> None:
    (finding,) = review(added("app.cfg", [f'password = "{PASSWORD}"']))
    assert finding.message == "Possible hard-coded secret added: ****"
    assert finding.anchor == 'password = "****"'


def test_secret_in_deleted_or_context_lines_is_not_flagged() -> None:
    f = hunk_file(
        "app/settings.py",
        [
            (" ", f"OLD_TOKEN = '{GH_TOKEN}'"),
            ("-", f"AWS = '{AWS_ID}'"),
            ("+", "AWS = os.environ['AWS_KEY']"),
        ],
    )
    assert line_rules(review(f)) == []


def test_deleted_file_is_not_line_checked() -> None:
    lines = [f"TOKEN = '{GH_TOKEN}'", "breakpoint()"]
    hunk = Hunk(1, 2, 0, 0, lines=[DiffLine("-", t, i + 1, None) for i, t in enumerate(lines)])
    assert review(FileDiff("old.py", status=FileStatus.DELETED, hunks=[hunk])) == []


def test_allowlisted_and_placeholder_values_are_not_flagged() -> None:
    f = added(
        "README.md",
        [
            "aws_access_key_id = AKIAIOSFODNN7EXAMPLE",
            'password = "${DB_PASSWORD}"',
            'password = "aaaaaaaaaaaa"',
            "token: ${{ secrets.GITHUB_TOKEN }}",
        ],
    )
    assert line_rules(review(f)) == []


def test_allow_pragma_silences_the_finding_but_the_anchor_stays_masked() -> None:
    f = added("a.py", [f"KEY = '{GH_TOKEN}'  # gitleaks:allow TODO check"])
    found = line_findings(review(f))
    assert line_rules(found) == [(1, "todo-added")]
    assert GH_TOKEN not in found[0].anchor


def test_private_key_over_many_added_lines_is_one_finding() -> None:
    dashes = "-" * 5
    body = [rand(64, f"body{i}", ALNUM + "+/") for i in range(5)]
    lines = [
        "key = '''",
        f"{dashes}BEGIN RSA PRIVATE KEY{dashes}",
        *body,
        f"{dashes}END RSA PRIVATE KEY{dashes}",
        "'''",
    ]
    found = line_findings(review(added("deploy/key.py", lines, start=10)))
    assert line_rules(found) == [(11, "secret/private-key")]
    key = found[0]
    assert (key.line, key.end_line) == (11, 17)
    assert key.message == f"Private key added: {dashes}BEGIN RSA PRIVATE KEY{dashes}…"
    for secret_line in body:
        assert secret_line not in fields(key)


def test_private_key_cut_by_the_hunk_still_flags_the_header() -> None:
    dashes = "-" * 5
    lines = [f"{dashes}BEGIN OPENSSH PRIVATE KEY{dashes}", rand(70, "cut", ALNUM)]
    found = review(added("id_ed25519", lines))
    assert line_rules(found) == [(1, "secret/private-key")]
    assert lines[1] not in fields(found[0])


def test_lines_not_adjacent_in_the_new_file_are_scanned_separately() -> None:
    # "password =" at the end of one hunk and a value at the start of another are not one secret.
    first = Hunk(1, 0, 1, 1, lines=[DiffLine("+", "password =", None, 1)])
    second = Hunk(50, 0, 60, 1, lines=[DiffLine("+", f'"{PASSWORD}"', None, 60)])
    assert line_rules(review(FileDiff("a.yml", hunks=[first, second]))) == []


# --- merge conflict markers -----------------------------------------------------------------------


def test_conflict_markers_are_flagged() -> None:
    lines = ["a = 1", "<<<<<<< HEAD", "b = 2", "=======", "b = 3", ">>>>>>> feature", "c = 4"]
    found = line_findings(review(added("src/m.txt", lines)))
    assert line_rules(found) == [
        (2, "merge-conflict-marker"),
        (4, "merge-conflict-marker"),
        (6, "merge-conflict-marker"),
    ]
    assert all(f.severity is Severity.ERROR for f in found)


def test_diff3_base_marker_and_crlf_lines() -> None:
    lines = [
        "<<<<<<< ours\r",
        "x\r",
        "||||||| base\r",
        "y\r",
        "=======\r",
        "z\r",
        ">>>>>>> theirs\r",
    ]
    assert [ln for ln, _ in line_rules(review(added("w.c", lines)))] == [1, 3, 5, 7]


def test_equals_underline_alone_is_not_a_conflict() -> None:
    f = added("docs/index.rst", ["Title", "=======", "", "text"])
    assert line_rules(review(f)) == []


def test_marker_lookalikes_are_not_flagged() -> None:
    lines = ["<<<<<<<<< too many", "  <<<<<<< indented", "<<<<<<<HEAD", "x = '======='"]
    assert line_rules(review(added("n.txt", lines))) == []


def test_markers_in_context_lines_are_not_flagged() -> None:
    f = hunk_file("m.py", [(" ", "<<<<<<< HEAD"), ("+", "x = 1"), (" ", ">>>>>>> b")])
    assert line_rules(review(f)) == []


# --- debug statements -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "breakpoint()",
        "    import pdb; pdb.set_trace()",
        "ipdb.set_trace()",
        "import pdb",
        "from ipdb import set_trace",
        "x = 1; breakpoint()",
        "import pudb",
        "pudb.set_trace()",
    ],
)
def test_python_debugger_calls(line: str) -> None:
    found = line_findings(review(added("pkg/core.py", [line]), debug_print_python=False))
    assert line_rules(found) == [(1, "debug/breakpoint")]
    assert found[0].severity is Severity.WARNING


@pytest.mark.parametrize(
    "line",
    ["# breakpoint()", "obj.breakpoint()", "set_breakpoint()", "import pdbx", "debugger;"],
)
def test_python_debugger_lookalikes(line: str) -> None:
    assert line_rules(review(added("pkg/core.py", [line]))) == []


def test_debugger_in_tests_is_still_flagged() -> None:
    assert line_rules(review(added("tests/test_x.py", ["    breakpoint()"]))) == [
        (1, "debug/breakpoint")
    ]


@pytest.mark.parametrize("path", ["web/app.js", "web/app.tsx", "web/App.vue", "web/x.mjs"])
def test_js_debugger_and_console(path: str) -> None:
    lines = [
        "  debugger;",
        "console.log('x', y)",
        "console.debug(z)",
        "console.error(e)",
        "// console.log(x)",
        "myconsole.log(1)",
    ]
    found = line_findings(review(added(path, lines)))
    assert line_rules(found) == [
        (1, "debug/breakpoint"),
        (2, "debug/console-log"),
        (3, "debug/console-log"),
    ]
    assert {f.severity for f in found} == {Severity.WARNING}


@pytest.mark.parametrize(
    "path", ["web/app.test.ts", "web/__tests__/a.js", "web/b.spec.tsx", "tests/x.js"]
)
def test_console_log_in_tests_is_fine(path: str) -> None:
    assert line_rules(review(added(path, ["console.log(result)"]))) == []


def test_console_log_outside_js_is_not_flagged() -> None:
    assert line_rules(review(added("notes.md", ["console.log(x)"]))) == []
    assert line_rules(review(added("a.py", ["breakpoint()"]))) != []
    assert line_rules(review(added("a.js", ["breakpoint()"]))) == []


def test_print_in_library_code_is_info() -> None:
    lines = [
        "print('hello')",
        "    print (x)",
        "pprint(x)",
        "x = print",
        "# print(x)",
        "log.print(x)",
    ]
    found = review(added("src/pkg/mod.py", lines))
    assert line_rules(found) == [(1, "debug/print"), (2, "debug/print")]
    assert {f.severity for f in found if f.rule == "debug/print"} == {Severity.INFO}


@pytest.mark.parametrize(
    "path",
    ["tests/test_mod.py", "pkg/test_mod.py", "pkg/mod_test.py", "scripts/release.py", "pkg/__main__.py",
     "pkg/cli.py", "pkg/admin_cli.py", "pkg/cli/render.py", "setup.py", "docs/conf.py", "tools/gen.py"],
)  # fmt: skip
def test_print_exemptions(path: str) -> None:
    assert line_rules(review(added(path, ["print('ok')"]))) == []


def test_print_check_can_be_turned_off() -> None:
    assert line_rules(review(added("src/pkg/mod.py", ["print(1)"]), debug_print_python=False)) == []


# --- TODO comments --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "line", "word"),
    [
        ("a.py", "x = 1  # TODO: later", "TODO"),
        ("a.py", "# FIXME", "FIXME"),
        ("a.go", "// XXX(bob) racy", "XXX"),
        ("a.c", "/* HACK around gcc */", "HACK"),
        ("a.c", " * TODO document", "TODO"),
        ("q.sql", "SELECT 1 -- TODO index", "TODO"),
        ("x.ini", "; TODO remove", "TODO"),
        ("README.md", "<!-- TODO: screenshots -->", "TODO"),
    ],
)
def test_todo_in_comments(path: str, line: str, word: str) -> None:
    found = line_findings(review(added(path, [line])))
    assert line_rules(found) == [(1, "todo-added")]
    assert found[0].message == f"{word} comment added."
    assert found[0].severity is Severity.INFO
    assert found[0].anchor == line.strip()


@pytest.mark.parametrize(
    ("path", "line"),
    [
        ("a.py", 'status = "TODO"'),
        ("a.py", "# todo lowercase"),
        ("a.py", "# TODOS and XXXX"),
        ("a.py", "TODO_LIST = []  # list"),
        ("a.js", "const url = 'http://x/TODO'"),
        ("README.md", "# TODO list for the release"),
        ("README.md", "- TODO: write docs"),
    ],
)
def test_todo_outside_comments_is_not_flagged(path: str, line: str) -> None:
    assert line_rules(review(added(path, [line]))) == []


def test_todo_severity_comes_from_settings() -> None:
    (finding,) = line_findings(review(added("a.py", ["# TODO"]), todo_severity="warning"))
    assert finding.severity is Severity.WARNING


def test_todo_in_a_deleted_line_is_not_flagged() -> None:
    f = hunk_file("a.py", [("-", "# TODO old"), ("+", "x = 2")])
    assert line_rules(review(f)) == []


# --- large files ----------------------------------------------------------------------------------


def test_large_new_file_is_flagged_once_at_file_level() -> None:
    found = review(added("data/big.txt", [f"row {i}" for i in range(11)]), large_file_lines=10)
    assert line_rules(found) == [(None, "large-file")]
    assert found[0].severity is Severity.WARNING
    assert "11 lines" in found[0].message and "10" in found[0].message


def test_new_file_at_the_limit_and_modified_files_are_not_large() -> None:
    assert line_rules(review(added("a.txt", ["x"] * 10), large_file_lines=10)) == []
    modified = added("b.txt", ["x"] * 50, status=FileStatus.MODIFIED)
    assert line_rules(review(modified, large_file_lines=10)) == []


def test_binary_files_are_skipped() -> None:
    f = FileDiff("img/logo.png", status=FileStatus.ADDED, is_binary=True)
    assert review(f, large_file_lines=1) == []


# --- lock-file drift ------------------------------------------------------------------------------


def test_lock_changed_without_manifest_is_a_warning() -> None:
    found = review(added("poetry.lock", ["x"], status=FileStatus.MODIFIED))
    assert rules(found) == [(None, "lockfile-drift")]
    assert found[0].path == "poetry.lock"
    assert found[0].severity is Severity.WARNING
    assert found[0].message == "poetry.lock changed but pyproject.toml did not."


def test_lock_with_its_manifest_is_fine() -> None:
    deps = hunk_file(
        "package.json",
        [
            (" ", '  "dependencies": {'),
            ("+", '    "left-pad": "^1.3.0",'),
            (" ", '    "react": "^18.0.0"'),
        ],
    )
    assert rules(review(deps, added("yarn.lock", ["x"], status=FileStatus.MODIFIED))) == []


def test_manifest_dependency_change_without_lock_is_info() -> None:
    f = hunk_file(
        "pyproject.toml",
        [(" ", "[project]"), (" ", "dependencies = ["), ("+", '  "httpx>=0.27",'), (" ", "]")],
    )
    found = review(f)
    assert rules(found) == [(None, "lockfile-drift")]
    assert found[0].severity is Severity.INFO
    assert "poetry.lock / uv.lock / pdm.lock" in found[0].message


def test_manifest_change_outside_dependencies_is_fine() -> None:
    toml = hunk_file(
        "pyproject.toml",
        [(" ", "[tool.ruff]"), ("-", "line-length = 88"), ("+", "line-length = 100")],
    )
    scripts = hunk_file(
        "package.json",
        [
            (" ", '  "scripts": {'),
            ("+", '    "lint": "eslint .",'),
            (" ", '    "test": "jest"'),
            (" ", "  },"),
        ],
    )
    assert rules(review(toml, scripts)) == []


def test_json_manifest_change_after_a_closed_section() -> None:
    f = hunk_file(
        "package.json",
        [
            (" ", '  "scripts": {'),
            (" ", '    "test": "jest"'),
            (" ", "  },"),
            (" ", '  "devDependencies": {'),
            ("+", '    "jest": "^29.0.0",'),
        ],
    )
    assert rules(review(f)) == [(None, "lockfile-drift")]


def test_manifest_change_without_visible_section_counts() -> None:
    f = hunk_file("Cargo.toml", [(" ", 'serde = "1"'), ("+", 'tokio = "1"')])
    assert rules(review(f)) == [(None, "lockfile-drift")]


def test_go_mod_and_go_sum_pair() -> None:
    mod = hunk_file("go.mod", [(" ", "require ("), ("+", "\tgolang.org/x/text v0.14.0")])
    assert rules(review(mod)) == [(None, "lockfile-drift")]
    assert rules(review(mod, added("go.sum", ["x"], status=FileStatus.MODIFIED))) == []


def test_workspace_lock_at_root_covers_member_manifests() -> None:
    member = hunk_file("crates/core/Cargo.toml", [(" ", "[dependencies]"), ("+", 'serde = "1"')])
    lock = added("Cargo.lock", ["x"], status=FileStatus.MODIFIED)
    assert rules(review(member, lock)) == []


def test_pairs_in_unrelated_directories_do_not_match() -> None:
    manifest = hunk_file("a/package.json", [(" ", '"dependencies": {'), ("+", '"x": "1"')])
    lock = added("b/package-lock.json", ["x"], status=FileStatus.MODIFIED)
    found = review(manifest, lock)
    assert [(f.path, f.severity) for f in found] == [
        ("a/package.json", Severity.INFO),
        ("b/package-lock.json", Severity.WARNING),
    ]


def test_deleted_manifest_does_not_ask_for_a_lock() -> None:
    hunk = Hunk(1, 1, 0, 0, lines=[DiffLine("-", "[project]", 1, None)])
    assert rules(review(FileDiff("pyproject.toml", status=FileStatus.DELETED, hunks=[hunk]))) == []


# --- missing tests --------------------------------------------------------------------------------


def test_source_change_without_tests_is_a_change_level_info() -> None:
    found = review(added("src/pkg/a.py", ["x = 1"]), added("src/pkg/b.go", ["package b"]))
    assert rules(found) == [(None, "missing-tests")]
    (f,) = found
    assert (f.path, f.line, f.severity) == ("", None, Severity.INFO)
    assert f.message == "2 source file(s) changed but no test file changed."
    assert "src/pkg/a.py" in (f.suggestion or "")


def test_missing_tests_lists_at_most_three_files() -> None:
    files = [added(f"src/m{i}.py", ["x = 1"]) for i in range(5)]
    (f,) = review(*files)
    assert (
        f.suggestion == "Add or update tests covering: src/m0.py, src/m1.py, src/m2.py (+2 more)."
    )


@pytest.mark.parametrize(
    "test_path", ["tests/test_a.py", "pkg/a_test.go", "web/a.spec.ts", "spec/a_spec.rb"]
)
def test_a_changed_test_file_satisfies_the_check(test_path: str) -> None:
    assert review(added("src/a.py", ["x = 1"]), added(test_path, ["ok"])) == []


def test_no_source_files_no_missing_tests() -> None:
    assert review(added("README.md", ["docs"]), added("config.yml", ["a: 1"])) == []
    deleted = FileDiff(
        "src/gone.py",
        status=FileStatus.DELETED,
        hunks=[Hunk(1, 1, 0, 0, lines=[DiffLine("-", "x", 1, None)])],
    )
    assert review(deleted) == []
    renamed_only = FileDiff("src/new.py", status=FileStatus.RENAMED, old_path="src/old.py")
    assert review(renamed_only) == []


def test_custom_test_globs() -> None:
    files = (added("src/a.py", ["x = 1"]), added("checks/a_check.py", ["ok"]))
    assert rules(review(*files)) == [(None, "missing-tests")]
    assert review(*files, test_globs=["checks/**"]) == []


# --- settings, catalogue, determinism -------------------------------------------------------------


def noisy_diff() -> Diff:
    return Diff(
        files=[
            added(
                "src/app.py",
                [f"TOKEN = '{GH_TOKEN}'", "breakpoint()", "print(1)", "# TODO x", "<<<<<<< HEAD"],
            ),
            added("web/main.ts", ["console.log(1)", "debugger;"]),
            added("big.txt", ["x"] * 20),
            added("yarn.lock", ["x"], status=FileStatus.MODIFIED),
        ]
    )


def test_disable_exact_ids_and_groups() -> None:
    every = {f.rule for f in builtin_review(noisy_diff(), BuiltinChecks(large_file_lines=10))}
    assert every == {
        "secret/github-token", "debug/breakpoint", "debug/print", "todo-added", "merge-conflict-marker",
        "debug/console-log", "large-file", "lockfile-drift", "missing-tests",
    }  # fmt: skip
    cfg = BuiltinChecks(large_file_lines=10, disable=["debug/", "secret/", "missing-tests", "todo"])
    left = {f.rule for f in builtin_review(noisy_diff(), cfg)}
    assert left == {"todo-added", "merge-conflict-marker", "large-file", "lockfile-drift"}


def test_rule_disabled() -> None:
    assert rule_disabled("debug/print", ["debug/"])
    assert rule_disabled("debug/print", ["debug/print"])
    assert not rule_disabled("debug/print", ["debug"])
    assert not rule_disabled("debug/print", ["debug/pr"])
    assert not rule_disabled("todo-added", [])


def test_rule_catalogue_matches_what_is_reported() -> None:
    assert {r.severity for r in RULES.values()} <= set(Severity)
    assert all(info.id == key and info.summary for key, info in RULES.items())
    expected = {
        "merge-conflict-marker": Severity.ERROR, "debug/breakpoint": Severity.WARNING,
        "debug/console-log": Severity.WARNING, "debug/print": Severity.INFO, "todo-added": Severity.INFO,
        "large-file": Severity.WARNING, "lockfile-drift": Severity.WARNING, "missing-tests": Severity.INFO,
        "secret/aws-access-key-id": Severity.ERROR, "secret/generic-secret": Severity.ERROR,
        "secret/private-key": Severity.ERROR,
    }  # fmt: skip
    assert {k: RULES[k].severity for k in expected} == expected
    for f in builtin_review(noisy_diff(), BuiltinChecks(large_file_lines=10)):
        assert f.rule in RULES
        if f.rule not in ("todo-added", "lockfile-drift"):
            assert f.severity is RULES[f.rule].severity


def test_output_is_sorted_deterministic_and_carries_the_source() -> None:
    diff = noisy_diff()
    first = builtin_review(diff, source="builtin-x")
    again = builtin_review(Diff(files=list(reversed(diff.files))), source="builtin-x")
    assert first == again
    assert first == sorted(first, key=lambda f: (f.path, f.line or 0, f.rule))
    assert {f.source for f in first} == {"builtin-x"}
    assert [f.fingerprint for f in first] == [f.fingerprint for f in again]


def test_empty_diff_and_default_settings() -> None:
    assert builtin_review(Diff()) == []
    assert builtin_review(Diff(files=[added("a.py", ["print(1)"])])) == builtin_review(
        Diff(files=[added("a.py", ["print(1)"])]), BuiltinChecks()
    )


# --- through the real parser ----------------------------------------------------------------------


def test_review_of_a_real_git_diff(git_repo: Path) -> None:
    from prbot.diff.parse import parse_diff

    (git_repo / "app.py").write_text("import os\n\n\ndef main():\n    return 1\n")
    git(git_repo, "add", ".")
    git(git_repo, "commit", "-q", "-m", "app")
    (git_repo / "app.py").write_text(
        f"import os\nAPI_TOKEN = '{GH_TOKEN}'\n\n\ndef main():\n    breakpoint()\n    return 2  # TODO\n"
    )
    diff, skipped = parse_diff(git(git_repo, "diff"))
    assert skipped == []
    found = builtin_review(diff)
    assert [(f.path, f.line, f.rule) for f in found] == [
        ("", None, "missing-tests"),
        ("app.py", 2, "secret/github-token"),
        ("app.py", 6, "debug/breakpoint"),
        ("app.py", 7, "todo-added"),
    ]
    assert all(GH_TOKEN not in fields(f) for f in found)
