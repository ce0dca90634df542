"""Deterministic synthetic unified diffs shared by the benchmark scripts.

Why generate instead of replaying a real pull request: a 100k-line PR is rare and would have to
be vendored, while a seeded generator gives the same bytes on every machine (so figures from two
machines compare) and lets the size be dialled. The lines look like code (identifiers, calls,
indentation, comments, string literals), not filler, so the regexes of the builtin checks and
the secret scanner do the work they do on real diffs; a known number of findings is planted
(secrets, TODOs, ``print(``, ``console.log(``, a lock file without its manifest) so the code
paths that build findings and mask secrets run too. Secrets are assembled at run time from the
seeded generator, so no credential-shaped literal sits in this file for scanners to trip on.
"""

from __future__ import annotations

import math
import random
import string
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["SyntheticDiff", "generate_diff"]

#: Changed lines (added + removed) per source file, on average.
LINES_PER_FILE = 600
#: Every N-th added line of a source file carries a planted finding of each kind.
TODO_EVERY = 97
DEBUG_EVERY = 151
SECRET_EVERY = 499

_WORDS = (
    "user", "order", "invoice", "cache", "session", "retry", "payload", "config", "result",
    "items", "request", "response", "batch", "record", "index", "buffer", "client", "handler",
    "queue", "limit", "offset", "window", "parser", "report", "account", "price", "amount",
    "schema", "event", "metric", "bucket", "region", "timeout", "status", "message", "channel",
)  # fmt: skip
_PACKAGES = ("billing", "accounts", "search", "exports", "sync", "notifications", "storage")
_ALNUM = string.ascii_letters + string.digits
_AWS_CHARS = string.ascii_uppercase + "234567"


@dataclass
class SyntheticDiff:
    """A generated diff and what was planted in it (for sanity checks, not for timing)."""

    text: str
    added: int = 0
    removed: int = 0
    files: int = 0
    #: finding kind → how many were planted: secret, todo, print, console-log, lockfile-drift.
    planted: dict[str, int] = field(default_factory=dict)

    @property
    def changed_lines(self) -> int:
        return self.added + self.removed

    @property
    def size_bytes(self) -> int:
        return len(self.text.encode("utf-8"))


class _Code:
    """Plausible code lines for one language."""

    def __init__(self, rng: random.Random, lang: str) -> None:
        self.rng = rng
        self.lang = lang
        self.depth = 1
        self._templates: dict[str, tuple[Callable[[], str], ...]] = {
            "py": (
                lambda: f"{self._w()} = {self._w()}.get({self._q()}, {self._n()})",
                lambda: f"if {self._w()} is None:",
                lambda: f"return {self._w()}_{self._w()}({self._w()}, limit={self._n()})",
                lambda: f"for {self._w()} in self.{self._w()}s:",
                lambda: f"{self._w()}s.append({self._w()}[{self._n()}])",
                lambda: f'logger.debug("{self._w()} %s for %s", {self._w()}, {self._w()})',
                lambda: (
                    f"def {self._w()}_{self._w()}(self, {self._w()}: int = {self._n()}) -> dict[str, int]:"
                ),
                lambda: f'raise ValueError(f"bad {self._w()}: {{{self._w()}!r}}")',
                lambda: f"with self._{self._w()}_lock:",
                lambda: (
                    f"{self._w()} = [x.{self._w()} for x in {self._w()}s if x.{self._w()} > {self._n()}]"
                ),
                lambda: f'"""Return the {self._w()} of each {self._w()}, oldest first."""',
                lambda: "",
            ),
            "ts": (
                lambda: f"const {self._w()} = await this.{self._w()}.get({self._q()});",
                lambda: f"if (!{self._w()}) {{",
                lambda: f"return {self._w()}.map((x) => x.{self._w()} * {self._n()});",
                lambda: "}",
                lambda: (
                    f"export function {self._w()}{self._w().title()}({self._w()}: number): string {{"
                ),
                lambda: f"this.{self._w()}.set({self._q()}, {{ {self._w()}: {self._n()} }});",
                lambda: f"throw new Error(`invalid {self._w()}: ${{{self._w()}}}`);",
                lambda: f"let {self._w()}Count = {self._w()}.length - {self._n()};",
                lambda: f"// keep the {self._w()} in sync with the {self._w()}",
                lambda: "",
            ),
            "go": (
                lambda: f"{self._w()}, err := s.{self._w()}.Get(ctx, {self._q()})",
                lambda: "if err != nil {",
                lambda: f'return nil, fmt.Errorf("load {self._w()}: %w", err)',
                lambda: "}",
                lambda: f"for _, {self._w()} := range {self._w()}s {{",
                lambda: (
                    f"func (s *Service) {self._w().title()}{self._w().title()}(ctx context.Context, id int64) error {{"
                ),
                lambda: f"{self._w()} := make([]int, 0, {self._n()})",
                lambda: f"// {self._w().title()} returns the {self._w()} for the {self._w()}.",
                lambda: "",
            ),
        }

    def _w(self) -> str:
        return self.rng.choice(_WORDS)

    def _n(self) -> int:
        return self.rng.randint(0, 512)

    def _q(self) -> str:
        q = "'" if self.lang == "ts" else '"'
        return f"{q}{self._w()}_{self._w()}{q}"

    def line(self) -> str:
        """The next line, indented one level deeper after a block opener, shallower after ``}``."""
        text = self.rng.choice(self._templates[self.lang])()
        if not text:
            return ""
        if text == "}" or self.rng.random() < 0.15:
            self.depth = max(1, self.depth - 1)
        indent = "    " if self.lang == "py" else ("  " if self.lang == "ts" else "\t")
        line = indent * self.depth + text
        if text.endswith((":", "{")):
            self.depth = min(4, self.depth + 1)
        return line


class _Planter:
    """Decides which added lines carry a planted finding, across the whole diff."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.count = 0
        self.planted = {"secret": 0, "todo": 0, "print": 0, "console-log": 0, "lockfile-drift": 0}
        self._secret_kind = 0

    def added_line(self, code: _Code) -> str:
        self.count += 1
        lang = code.lang
        if self.count % SECRET_EVERY == 0:
            self.planted["secret"] += 1
            return self._secret(lang)
        if self.count % TODO_EVERY == 0:
            self.planted["todo"] += 1
            mark = "#" if lang == "py" else "//"
            word = self.rng.choice(("TODO", "FIXME", "HACK"))
            return f"    {mark} {word}: handle the {code._w()} overflow case"
        if self.count % DEBUG_EVERY == 0 and lang in ("py", "ts"):
            if lang == "py":
                self.planted["print"] += 1
                return f'        print("{code._w()}", {code._w()})'
            self.planted["console-log"] += 1
            return f"  console.log('{code._w()}', {code._w()});"
        return code.line()

    def _secret(self, lang: str) -> str:
        kind, self._secret_kind = self._secret_kind % 3, self._secret_kind + 1
        pick = self.rng.choice
        if kind == 0:
            value = "AKIA" + "".join(pick(_AWS_CHARS) for _ in range(16))
            name = "aws_access_key_id"
        elif kind == 1:
            value = "ghp_" + "".join(pick(_ALNUM) for _ in range(36))
            name = "github_pat"
        else:
            value = "".join(pick(_ALNUM) for _ in range(32))
            name = "api_secret"
        if lang == "go":
            return f'\t{name} := "{value}"'
        if lang == "ts":
            return f"  const {name} = '{value}';"
        return f'    {name} = "{value}"'


def _hex(rng: random.Random) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(7))


def _budgets(total: int, parts: int) -> list[int]:
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def generate_diff(changed_lines: int, *, seed: int = 1) -> SyntheticDiff:
    """A ``git diff`` of exactly ``changed_lines`` added + removed lines over several files.

    Most files are modified (hunks with three lines of context each side, some lines removed);
    every fifth is new. From 100 lines up, one ``package-lock.json`` hunk is included: the
    default filters skip it and the builtin reviewer reports it as lock-file drift.
    """
    if changed_lines < 1:
        raise ValueError("changed_lines must be at least 1")
    rng = random.Random(seed)
    planter = _Planter(rng)
    out: list[str] = []
    result = SyntheticDiff(text="")

    lock_lines = max(4, changed_lines // 50) if changed_lines >= 100 else 0
    source_lines = changed_lines - lock_lines
    n_files = min(source_lines, max(4, math.ceil(source_lines / LINES_PER_FILE)))
    for i, budget in enumerate(_budgets(source_lines, n_files)):
        lang = ("py", "ts", "go")[i % 3]
        ext = {"py": "py", "ts": "ts", "go": "go"}[lang]
        pkg = _PACKAGES[i % len(_PACKAGES)]
        root = {"py": f"src/app/{pkg}", "ts": f"web/src/{pkg}", "go": f"internal/{pkg}"}[lang]
        path = f"{root}/{rng.choice(_WORDS)}_{i}.{ext}"
        code = _Code(rng, lang)
        if i % 5 == 4:
            _new_file(out, result, path, budget, code, planter, rng)
        else:
            _modified_file(out, result, path, budget, code, planter, rng)
    if lock_lines:
        _lock_file(out, result, lock_lines, rng)
        planter.planted["lockfile-drift"] += 1
    result.text = "\n".join(out) + "\n"
    result.planted = planter.planted
    return result


def _new_file(
    out: list[str],
    result: SyntheticDiff,
    path: str,
    budget: int,
    code: _Code,
    planter: _Planter,
    rng: random.Random,
) -> None:
    out += [
        f"diff --git a/{path} b/{path}",
        "new file mode 100644",
        f"index 0000000..{_hex(rng)}",
        "--- /dev/null",
        f"+++ b/{path}",
        f"@@ -0,0 +1,{budget} @@",
    ]
    out += ["+" + planter.added_line(code) for _ in range(budget)]
    result.added += budget
    result.files += 1


def _modified_file(
    out: list[str],
    result: SyntheticDiff,
    path: str,
    budget: int,
    code: _Code,
    planter: _Planter,
    rng: random.Random,
) -> None:
    out += [
        f"diff --git a/{path} b/{path}",
        f"index {_hex(rng)}..{_hex(rng)} 100644",
        f"--- a/{path}",
        f"+++ b/{path}",
    ]
    old = new = rng.randint(1, 40)
    remaining = budget
    while remaining > 0:
        change = min(remaining, rng.randint(4, 40))
        removed = rng.randint(0, change // 3)
        added = change - removed
        section = f" def {code._w()}_{code._w()}(self):" if code.lang == "py" else ""
        out.append(f"@@ -{old},{removed + 6} +{new},{added + 6} @@{section}")
        out += [" " + code.line() for _ in range(3)]
        out += ["-" + code.line() for _ in range(removed)]
        out += ["+" + planter.added_line(code) for _ in range(added)]
        out += [" " + code.line() for _ in range(3)]
        gap = rng.randint(5, 60)
        old += removed + 6 + gap
        new += added + 6 + gap
        remaining -= change
        result.added += added
        result.removed += removed
    result.files += 1


def _lock_file(out: list[str], result: SyntheticDiff, lines: int, rng: random.Random) -> None:
    path = "web/package-lock.json"
    removed = lines // 2
    added = lines - removed
    out += [
        f"diff --git a/{path} b/{path}",
        f"index {_hex(rng)}..{_hex(rng)} 100644",
        f"--- a/{path}",
        f"+++ b/{path}",
        f"@@ -120,{removed + 6} +120,{added + 6} @@",
        '     "node_modules/left-pad": {',
        '       "version": "1.3.0",',
        '       "license": "MIT",',
    ]
    out += [f'-      "integrity": "sha512-{_hex(rng)}{_hex(rng)}",' for _ in range(removed)]
    out += [f'+      "integrity": "sha512-{_hex(rng)}{_hex(rng)}",' for _ in range(added)]
    out += ['       "dev": true', "     },", '     "node_modules/lodash": {']
    result.added += added
    result.removed += removed
    result.files += 1
