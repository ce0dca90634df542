"""The deterministic ``builtin`` reviewer: checks that need no model and no network.

It is the default when no model is configured and always runs beside a model, so it must be
precise (a noisy bot gets switched off) and must never make things worse: it looks at added lines
only, and a secret it finds is never repeated in full in any finding field, not even in the
``anchor`` of an unrelated finding on the same line.

Rule ids are stable (users list them under ``review.builtin.disable``); an entry ending in ``/``
disables a whole group (``debug/``, ``secret/``).

Exemptions, chosen to keep the checks quiet on code where the pattern is intended:

* ``debug/print`` skips test files (``test_globs``), files under ``scripts/``, ``bin/``,
  ``tools/``, ``examples/``, ``docs/``, ``benchmarks/`` or a ``cli/`` package, and entry points
  named ``__main__.py``, ``cli.py``, ``*_cli.py``, ``cli_*.py``, ``setup.py``, ``manage.py``,
  ``noxfile.py``, ``conftest.py``.
* ``debug/console-log`` skips test files; ``debug/breakpoint`` does not (a debugger left in a
  test hangs CI just the same).
* A secret on a line carrying ``gitleaks:allow`` or ``pragma: allowlist secret`` is not reported
  (it is still masked in anchors), so existing allowlist comments keep working.
* ``lockfile-drift`` pairs a lock with manifests in its directory or below (workspaces keep one
  lock at the root), and a manifest with locks in its directory or above. A manifest without a
  lock is only reported when a changed line may be a dependency (TOML table / JSON object seen
  in the hunk, or not visible at all), since most manifest edits are not.
* ``todo-added`` counts TODO/FIXME/XXX/HACK only after a comment marker (``#``, ``//``, ``/*``,
  ``--``, ``<!--``, or a leading ``*`` / ``;``); in documentation files (``.md``, ``.rst``,
  ``.txt``, ``.html``, ...) only inside ``<!-- -->``, because ``# TODO`` there is a heading.
* ``=======`` alone is a conflict marker only after a ``<<<<<<<`` or before a ``>>>>>>>`` added
  in the same file; elsewhere it is a Markdown/reST underline.
"""

from __future__ import annotations

import bisect
import posixpath
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from prbot.config.schema import BuiltinChecks
from prbot.diff.filters import match_glob
from prbot.diff.model import Diff, FileDiff, FileStatus
from prbot.models import Finding, Severity
from prbot.review.secrets import SECRET_KINDS, display_value, find_secrets


@dataclass(frozen=True)
class RuleInfo:
    id: str
    severity: Severity
    summary: str


_E, _W, _I = Severity.ERROR, Severity.WARNING, Severity.INFO


def _article(name: str) -> str:
    return "An" if name[:1].upper() in "AEIOU" else "A"


RULES: dict[str, RuleInfo] = {
    r.id: r
    for r in (
        *(RuleInfo(f"secret/{k}", _E, f"{_article(name)} {name} is added in the change.") for k, name in SECRET_KINDS.items()),
        RuleInfo("merge-conflict-marker", _E, "A merge conflict marker (<<<<<<<, =======, >>>>>>>) is left in."),
        RuleInfo("debug/breakpoint", _W, "breakpoint(), pdb/ipdb.set_trace(), import pdb, or a JS debugger statement."),
        RuleInfo("debug/console-log", _W, "console.log( or console.debug( in non-test JavaScript/TypeScript."),
        RuleInfo("debug/print", _I, "print( as a statement in non-test Python library code."),
        RuleInfo("todo-added", _I, "A TODO, FIXME, XXX or HACK comment is added (severity: todo_severity)."),
        RuleInfo("large-file", _W, "A new file adds more lines than large_file_lines."),
        RuleInfo("lockfile-drift", _W, "A lock file changed without its manifest (warning), or the reverse (info)."),
        RuleInfo("missing-tests", _I, "Source files changed and no test file changed."),
    )
}  # fmt: skip


def rule_disabled(rule: str, disable: Iterable[str]) -> bool:
    """Exact id, or a group prefix ending in ``/``."""
    return any(rule == d or (d.endswith("/") and rule.startswith(d)) for d in disable)


def builtin_review(
    diff: Diff, settings: BuiltinChecks | None = None, *, source: str = "builtin"
) -> list[Finding]:
    """All builtin findings for ``diff``, sorted by (path, line, rule)."""
    cfg = settings or BuiltinChecks()

    def is_test(path: str | None) -> bool:
        return path is not None and any(match_glob(path, g) for g in cfg.test_globs)

    found: list[Finding] = []
    for f in diff.files:
        if f.is_binary or f.status is FileStatus.DELETED:
            continue
        found.extend(_line_findings(f, cfg, is_test(f.path), source))
        if f.status is FileStatus.ADDED and f.additions > cfg.large_file_lines:
            found.append(
                Finding(
                    f.path, None, _W, "large-file",
                    f"New file adds {f.additions} lines (limit {cfg.large_file_lines}).",
                    source, "Split it up; if it is generated or vendored, keep it out of the review.",
                )
            )  # fmt: skip
    found.extend(_lockfile_drift(diff, source))
    found.extend(_missing_tests(diff, is_test, source))
    kept = [x for x in found if not rule_disabled(x.rule, cfg.disable)]
    return sorted(kept, key=lambda x: (x.path, x.line or 0, x.rule, x.message))


# --- line checks --------------------------------------------------------------------------------

_PY = frozenset({".py"})
_JS = frozenset({".js", ".jsx", ".ts", ".tsx", ".mjs", ".cjs", ".vue", ".svelte"})
_DOCS = frozenset({".md", ".markdown", ".rst", ".txt", ".adoc", ".html", ".htm", ".xml", ".svg"})

_CONFLICT_OPEN = re.compile(r"<{7}(?: |$)")
_CONFLICT_CLOSE = re.compile(r">{7}(?: |$)")
_CONFLICT_BASE = re.compile(r"\|{7}(?: |$)")
_PY_DEBUG = re.compile(
    r"(?<![\w.])(?:breakpoint\(\s*\)|(?:i?pdb|pudb)\.set_trace\()"
    r"|^\s*(?:import\s+(?:i?pdb|pudb)\b|from\s+(?:i?pdb|pudb)\s+import\b)"
)
_JS_DEBUGGER = re.compile(r"(?<![\w.$])debugger\s*(?:;|$)")
_CONSOLE = re.compile(r"(?<![\w.$])console\.(?:log|debug)\s*\(")
_PRINT = re.compile(r"\s*print\s*\(")
_COMMENT = re.compile(r"(?:^|(?<=\s))(?:#|//|/\*|--|<!--)|^\s*[*;]")
_DOC_COMMENT = re.compile(r"<!--")
_TODO = re.compile(r"\b(TODO|FIXME|XXX|HACK)\b")
_ALLOW_SECRET = ("gitleaks:allow", "pragma: allowlist secret")

_PRINT_OK_DIRS = frozenset({"scripts", "bin", "tools", "examples", "docs", "benchmarks", "cli"})
_PRINT_OK_NAMES = frozenset({"__main__.py", "cli.py", "setup.py", "manage.py", "noxfile.py", "conftest.py"})  # fmt: skip
_SECRET_HINT = (
    "Remove it from the change and rotate it (once pushed, treat it as leaked); "
    "load it at run time from an environment variable or a secret store."
)


def _print_allowed(path: str) -> bool:
    parts = path.split("/")
    name = parts[-1]
    return (
        name in _PRINT_OK_NAMES
        or name.endswith("_cli.py")
        or name.startswith("cli_")
        or any(p in _PRINT_OK_DIRS for p in parts[:-1])
    )


def _is_comment_line(text: str) -> bool:
    s = text.lstrip()
    return s.startswith(("#", "//", "/*", "*", "<!--"))


def _line_findings(f: FileDiff, cfg: BuiltinChecks, is_test: bool, source: str) -> list[Finding]:
    added = f.added_lines()
    if not added:
        return []
    masked, secret_findings = _secrets(f.path, added, source)
    ext = posixpath.splitext(f.path)[1].lower()
    todo_severity = Severity(cfg.todo_severity)
    check_print = (
        cfg.debug_print_python and ext in _PY and not is_test and not _print_allowed(f.path)
    )
    bare = [t.rstrip("\r\n") for _, t in added]
    opens = [i for i, t in enumerate(bare) if t[:1] == "<" and _CONFLICT_OPEN.match(t)]
    closes = [i for i, t in enumerate(bare) if t[:1] == ">" and _CONFLICT_CLOSE.match(t)]

    out = list(secret_findings)
    for i, (no, text) in enumerate(added):
        word = None
        if bare[i][:1] in "<>|=" and (
            _CONFLICT_OPEN.match(bare[i])
            or _CONFLICT_CLOSE.match(bare[i])
            or _CONFLICT_BASE.match(bare[i])
            # "=======" alone is also a Markdown/reST underline: only inside a conflict.
            or (bare[i] == "=======" and ((opens and opens[0] < i) or (closes and closes[-1] > i)))
        ):
            rules = ["merge-conflict-marker"]
        else:
            rules = _debug_rules(text, ext, is_test, check_print)
            word = _todo_word(text, ext)
        if not rules and not word:
            continue
        anchor = masked.get(no, text).strip()
        for rule in rules:
            sev, message, suggestion = _LINE_RULES[rule]
            out.append(Finding(f.path, no, sev, rule, message, source, suggestion, anchor=anchor))
        if word:
            out.append(Finding(f.path, no, todo_severity, "todo-added", f"{word} comment added.",
                               source, anchor=anchor))  # fmt: skip
    return out


_LINE_RULES: dict[str, tuple[Severity, str, str]] = {
    "merge-conflict-marker": (_E, "Merge conflict marker left in the file.",
                              "Resolve the conflict and remove the marker lines."),
    "debug/breakpoint": (_W, "Debugger statement left in the code.", "Remove it before merging."),
    "debug/console-log": (_W, "console.log/console.debug call left in the code.",
                          "Remove it, or use the project's logger."),
    "debug/print": (_I, "print() call in library code.", "Use logging instead, or remove it."),
}  # fmt: skip


def _debug_rules(text: str, ext: str, is_test: bool, check_print: bool) -> list[str]:
    # Substring checks first: these run on every added line of every file.
    rules: list[str] = []
    if ext in _PY:
        if ("breakpoint(" in text or "pdb" in text or "pudb" in text) and _PY_DEBUG.search(text):
            rules.append("debug/breakpoint")
        if check_print and "print" in text and _PRINT.match(text):
            rules.append("debug/print")
    elif ext in _JS:
        if "debugger" in text and _JS_DEBUGGER.search(text):
            rules.append("debug/breakpoint")
        if not is_test and "console." in text and _CONSOLE.search(text):
            rules.append("debug/console-log")
    if rules and _is_comment_line(text):
        return []
    return rules


def _todo_word(text: str, ext: str) -> str | None:
    """The first TODO-like word inside a comment on the line, if any."""
    if not ("TODO" in text or "FIXME" in text or "XXX" in text or "HACK" in text):
        return None
    marker = (_DOC_COMMENT if ext in _DOCS else _COMMENT).search(text)
    if marker is None:
        return None
    word = _TODO.search(text, marker.end())
    return word.group(1) if word else None


def _secrets(
    path: str, added: list[tuple[int, str]], source: str
) -> tuple[dict[int, str], list[Finding]]:
    """Secret findings, and every added line that holds (part of) a secret, masked.

    Lines are scanned in runs of consecutive new-side lines joined by newlines, so a private key
    spread over many added lines is found as one block.
    """
    masked: dict[int, str] = {}
    findings: list[Finding] = []
    for run in _runs(added):
        texts = [t for _, t in run]
        joined = "\n".join(texts)
        matches = find_secrets(joined)
        if not matches:
            continue
        starts: list[int] = []
        pos = 0
        for t in texts:
            starts.append(pos)
            pos += len(t) + 1
        spans: dict[int, list[tuple[int, int, str]]] = {}
        # (index of the first line, of the last line, rule, what may be shown of the secret)
        first_lines: list[tuple[int, int, str, str]] = []
        for m in matches:
            first = bisect.bisect_right(starts, m.start) - 1
            last = bisect.bisect_right(starts, max(m.end - 1, m.start)) - 1
            shown = display_value(m)
            for k in range(first, last + 1):
                a = max(m.start, starts[k]) - starts[k]
                b = min(m.end, starts[k] + len(texts[k])) - starts[k]
                spans.setdefault(k, []).append((a, b, shown if k == first else "…"))
            first_lines.append((first, last, m.rule, shown))
        for k, line_spans in spans.items():
            text = texts[k]
            for a, b, rep in sorted(line_spans, reverse=True):
                text = text[:a] + rep + text[b:]
            masked[run[k][0]] = text
        for first, last, rule, shown in first_lines:
            no, raw = run[first]
            if any(p in raw for p in _ALLOW_SECRET):
                continue
            kind = SECRET_KINDS[rule]
            message = (
                f"Possible {kind} added: {shown}"
                if rule == "generic-secret"
                else f"{kind[0].upper()}{kind[1:]} added: {shown}"
            )
            findings.append(
                Finding(
                    path, no, _E, f"secret/{rule}", message, source, _SECRET_HINT,
                    end_line=run[last][0] if last != first else None,
                    anchor=masked[no].strip(),
                )
            )  # fmt: skip
    return masked, findings


def _runs(added: list[tuple[int, str]]) -> list[list[tuple[int, str]]]:
    """Split added lines into runs that are adjacent in the new file."""
    runs: list[list[tuple[int, str]]] = []
    for no, text in added:
        if runs and runs[-1][-1][0] == no - 1:
            runs[-1].append((no, text))
        else:
            runs.append([(no, text)])
    return runs


# --- change-level checks ------------------------------------------------------------------------

#: manifest → the lock files that pin it.
_LOCKS: dict[str, tuple[str, ...]] = {
    "package.json": ("package-lock.json", "yarn.lock", "pnpm-lock.yaml"),
    "pyproject.toml": ("poetry.lock", "uv.lock", "pdm.lock"),
    "Pipfile": ("Pipfile.lock",),
    "Cargo.toml": ("Cargo.lock",),
    "go.mod": ("go.sum",),
    "Gemfile": ("Gemfile.lock",),
    "composer.json": ("composer.lock",),
}
_MANIFEST_OF = {lock: manifest for manifest, locks in _LOCKS.items() for lock in locks}


def _below(path_dir: str, root: str) -> bool:
    return root == "" or path_dir == root or path_dir.startswith(root + "/")


def _lockfile_drift(diff: Diff, source: str) -> list[Finding]:
    changed = [(posixpath.dirname(f.path), posixpath.basename(f.path), f) for f in diff.files]
    manifests = [(d, n, f) for d, n, f in changed if n in _LOCKS]
    locks = [(d, n, f) for d, n, f in changed if n in _MANIFEST_OF]
    out: list[Finding] = []
    for d, name, f in locks:
        manifest = _MANIFEST_OF[name]
        if not any(m == manifest and _below(md, d) for md, m, _ in manifests):
            out.append(
                Finding(
                    f.path, None, _W, "lockfile-drift",
                    f"{name} changed but {manifest} did not.",
                    source,
                    f"If this was not a deliberate dependency refresh, regenerate {name} from {manifest}.",
                )
            )  # fmt: skip
    for d, name, f in manifests:
        wanted = _LOCKS[name]
        if f.status is FileStatus.DELETED or any(
            n in wanted and _below(d, ld) for ld, n, _ in locks
        ):
            continue
        if _dependencies_touched(f, name):
            out.append(
                Finding(
                    f.path, None, _I, "lockfile-drift",
                    f"{name} changed and no lock file was updated; "
                    f"if this changed dependencies, update {' / '.join(wanted)}.",
                    source,
                )
            )  # fmt: skip
    return out


_TOML_HEADER = re.compile(r"\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(?:#.*)?$")
_JSON_OPEN = re.compile(r'\s*(?:"([^"]+)"\s*:\s*)?[\[{]\s*$')
_JSON_CLOSE = re.compile(r"\s*[\]}],?\s*$")
_DEP_WORDS = ("depend", "require", "overrides", "resolutions", "packages", "workspace", "replace", "patch")  # fmt: skip
_DEP_SECTIONS = frozenset({"project", "tool.poetry", "tool.uv", "tool.pdm", "build-system", "source"})  # fmt: skip


def _is_dep_section(section: str) -> bool:
    low = section.lower()
    return low in _DEP_SECTIONS or any(w in low for w in _DEP_WORDS)


def _dependencies_touched(f: FileDiff, name: str) -> bool:
    """Whether a changed line may be a dependency.

    TOML tables and JSON objects are followed through each hunk, on the new side for added lines
    and on the old side for deleted ones; a line whose section is not visible in the hunk counts
    (the finding is only info).
    """
    if f.status is FileStatus.ADDED:
        return True
    syntax = ""
    if name.endswith(".toml") or name == "Pipfile":
        syntax = "toml"
    elif name.endswith(".json"):
        syntax = "json"
    for h in f.hunks:
        for side in ("+", "-"):
            header = _TOML_HEADER.match(h.section) if syntax == "toml" and h.section else None
            stack: list[str] = [header.group(1)] if header else []
            for ln in h.lines:
                if ln.kind not in (" ", side):
                    continue
                text = ln.text
                if syntax == "toml" and (m := _TOML_HEADER.match(text)):
                    stack = [m.group(1)]
                elif syntax == "json" and (m := _JSON_OPEN.match(text)):
                    stack.append(m.group(1) or "<root>")
                elif syntax == "json" and _JSON_CLOSE.match(text) and stack:
                    stack.pop()
                if ln.kind == " " or not text.strip() or text.lstrip().startswith(("#", "//")):
                    continue
                if not stack or _is_dep_section(stack[-1]):
                    return True
    return False


_CODE = frozenset({
    ".py", ".js", ".ts", ".tsx", ".jsx", ".go", ".rs", ".java", ".kt", ".rb", ".php", ".cs",
    ".c", ".cc", ".cpp", ".h", ".swift", ".scala",
})  # fmt: skip


def _missing_tests(diff: Diff, is_test: Callable[[str | None], bool], source: str) -> list[Finding]:
    if any(is_test(f.path) or is_test(f.old_path) for f in diff.files):
        return []
    sources = sorted(
        f.path
        for f in diff.files
        if not f.is_binary
        and f.status is not FileStatus.DELETED
        and (f.additions or f.deletions)
        and posixpath.splitext(f.path)[1].lower() in _CODE
    )
    if not sources:
        return []
    listed = ", ".join(sources[:3]) + (f" (+{len(sources) - 3} more)" if len(sources) > 3 else "")
    return [
        Finding(
            "", None, _I, "missing-tests",
            f"{len(sources)} source file(s) changed but no test file changed.",
            source, f"Add or update tests covering: {listed}.",
        )
    ]  # fmt: skip
