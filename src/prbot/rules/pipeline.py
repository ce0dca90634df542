"""Compile the validated ``labels:`` / ``rules:`` / ``notify:`` / ``permissions:`` sections.

Pydantic has already checked each section on its own (:mod:`prbot.rules.schema`); this is where
the checks that need several of them at once happen, so that every mistake a rule can contain is
found when the config is loaded (``prbot config validate``, pre-commit), never half-way through a
run that has already labelled or commented:

* conditions parse (:mod:`prbot.rules.conditions`), templates compile (:mod:`prbot.rules.template`)
  and label path globs compile;
* rule names are unique (two rules with one name make ``prbot explain`` and the audit ambiguous);
* every rule has at least one action, and approve/merge rules have at least one condition;
* label actions name defined labels (unless ``allow_undefined``), notify actions name a channel;
* ``review``/``describe`` rules do not depend on the review's own results (``#findings`` …),
  because those rules run first, before those results exist.

Every problem is collected (not just the first) with the config key path it belongs to, e.g.
``("rules", 0, "if", 1)``, which the loader turns into a file line.

With no rules configured, :data:`DEFAULT_RULES` apply: review everything, keep the summary comment,
report a check; they never approve or merge.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from pydantic import BaseModel

from prbot.rules.conditions import Condition, ConditionSyntaxError, leaves, parse_conditions
from prbot.rules.patterns import Glob, PatternError, compile_glob
from prbot.rules.schema import (
    LabelAction,
    LabelDef,
    NotifyAction,
    Permissions,
    RuleConfig,
)
from prbot.rules.template import Template, TemplateError, compile_template

Path = tuple[str | int, ...]

#: Attributes whose value the review phase produces.
REVIEW_RESULT_ATTRS = frozenset(
    {
        "findings",
        "findings-error",
        "findings-warning",
        "findings-info",
        "finding-rules",
        "review-verdict",
        "model-verdict",
    }
)
#: Actions that run in the review phase, before any condition sees the review's results.
REVIEW_PHASE = frozenset({"review", "describe"})
#: Actions that change the PR's fate; they need conditions and are refused for drafts/forks.
PROTECTED = frozenset({"approve", "merge"})
#: Action fields that are templates.
TEMPLATE_FIELDS: dict[str, tuple[str, ...]] = {
    "comment": ("body",),
    "approve": ("body",),
    "request-changes": ("body",),
    "notify": ("message",),
    "set-status": ("description",),
}

_WHERE_PART = re.compile(r"\[(\d+)\]|\.([A-Za-z]+)")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the rule sections: message, hint and the config key path."""

    message: str
    hint: str = ""
    path: Path = ()


class PipelineError(ValueError):
    """The rule sections are invalid; ``problems`` lists all of them, the first one leads."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        first = self.problems[0]
        self.message, self.hint, self.path = first.message, first.hint, first.path
        super().__init__(f"{first.message} (hint: {first.hint})" if first.hint else first.message)


@dataclass(frozen=True)
class Action:
    """One configured action of a rule: its YAML name, settings and compiled templates."""

    kind: str
    settings: BaseModel
    templates: Mapping[str, Template] = field(default_factory=dict, hash=False)

    @property
    def phase(self) -> str:
        return "review" if self.kind in REVIEW_PHASE else "act"


@dataclass(frozen=True)
class Rule:
    name: str
    condition: Condition
    actions: tuple[Action, ...]
    index: int = 0
    description: str = ""


@dataclass(frozen=True)
class LabelSpec:
    name: str
    color: str | None = None
    description: str | None = None
    paths: tuple[str, ...] = ()
    globs: tuple[Glob, ...] = ()

    def matches(self, files: Sequence[str]) -> bool:
        return any(g.matches(f) for g in self.globs for f in files)


@dataclass(frozen=True)
class Pipeline:
    """Everything the planner needs, checked and compiled."""

    rules: tuple[Rule, ...]
    labels: Mapping[str, LabelSpec] = field(default_factory=dict, hash=False)
    permissions: Permissions = field(default_factory=Permissions)
    channels: frozenset[str] = frozenset()
    #: True when the config had no rules and :data:`DEFAULT_RULES` are in use.
    default: bool = False


def _default_rules() -> tuple[RuleConfig, ...]:
    raw: list[dict[str, Any]] = [
        {"name": "review", "do": {"review": {"min_severity": "info"}}},
        {
            "name": "check: blocking findings",
            "if": ["#findings-error>0"],
            "do": {
                "set-status": {
                    "name": "prbot",
                    "conclusion": "failure",
                    "description": "{{ findings.error }} error(s), {{ findings.total }} finding(s)",
                }
            },
        },
        {
            "name": "check: no blocking findings",
            "if": ["#findings-error=0"],
            "do": {
                "set-status": {
                    "name": "prbot",
                    "conclusion": "success",
                    "description": "{{ findings.total }} finding(s), none blocking",
                }
            },
        },
    ]
    return tuple(RuleConfig.model_validate(r) for r in raw)


#: The pipeline used when ``.prbot.yml`` has no rules: review (all findings, inline comments and
#: the summary comment), then one ``prbot`` check that fails on error findings. It never approves,
#: requests changes or merges: those must always be asked for explicitly.
DEFAULT_RULES: tuple[RuleConfig, ...] = _default_rules()


def compile_pipeline(
    rules: Sequence[RuleConfig] = (),
    *,
    labels: Mapping[str, LabelDef] | None = None,
    notify: Mapping[str, object] | None = None,
    permissions: Permissions | None = None,
) -> Pipeline:
    """Check and compile the rule sections; raise :class:`PipelineError` with every problem."""
    problems: list[Problem] = []
    label_specs = _compile_labels(labels or {}, problems)
    channels = frozenset(notify or {})
    default = not rules
    configs = DEFAULT_RULES if default else tuple(rules)
    compiled: list[Rule] = []
    seen: dict[str, int] = {}
    for i, cfg in enumerate(configs):
        rule = _compile_rule(i, cfg, label_specs, channels, problems)
        key = cfg.name.strip().lower()
        if key in seen:
            problems.append(
                Problem(
                    f"rule {cfg.name!r}: the name is already used by rules[{seen[key]}]",
                    "rename one: explain and the audit refer to rules by name",
                    ("rules", i, "name"),
                )
            )
        seen.setdefault(key, i)
        if rule is not None:
            compiled.append(rule)
    if problems:
        raise PipelineError(problems)
    return Pipeline(
        tuple(compiled),
        MappingProxyType(label_specs),
        permissions or Permissions(),
        channels,
        default,
    )


def compile_config(cfg: Any) -> Pipeline:
    """:func:`compile_pipeline` on a whole :class:`~prbot.config.schema.PrbotConfig`."""
    return compile_pipeline(
        cfg.rules, labels=cfg.labels, notify=cfg.notify, permissions=cfg.permissions
    )


def default_pipeline() -> Pipeline:
    return compile_pipeline(())


def _compile_labels(
    labels: Mapping[str, LabelDef], problems: list[Problem]
) -> dict[str, LabelSpec]:
    out: dict[str, LabelSpec] = {}
    for name, spec in labels.items():
        globs: list[Glob] = []
        for j, pattern in enumerate(spec.paths):
            try:
                globs.append(compile_glob(pattern))
            except PatternError as exc:
                problems.append(
                    Problem(
                        f"label {name!r}: path {pattern!r}: {exc.message}",
                        exc.hint,
                        ("labels", name, "paths", j),
                    )
                )
        out[name] = LabelSpec(name, spec.color, spec.description, tuple(spec.paths), tuple(globs))
    return out


def _compile_rule(
    i: int,
    cfg: RuleConfig,
    labels: Mapping[str, LabelSpec],
    channels: frozenset[str],
    problems: list[Problem],
) -> Rule | None:
    prefix = f"rule {cfg.name!r}"
    before = len(problems)
    condition: Condition | None = None
    try:
        condition = parse_conditions(cfg.if_, where=prefix)
    except ConditionSyntaxError as exc:
        path: Path = ("rules", i, "if", *_where_path(exc.where, prefix))
        problems.append(Problem(f"{prefix}: {exc.message}", exc.hint, path))

    items = cfg.do.items()
    if not items:
        problems.append(
            Problem(
                f"{prefix} has no actions",
                "give do: at least one action, e.g. do: {label: {add: [docs]}}",
                ("rules", i, "do"),
            )
        )
    actions: list[Action] = []
    for kind, settings in items:
        at: Path = ("rules", i, "do", kind)
        templates = _compile_templates(kind, settings, prefix, at, problems)
        if isinstance(settings, LabelAction):
            _check_label_action(settings, labels, prefix, at, problems)
        if isinstance(settings, NotifyAction) and settings.channel not in channels:
            problems.append(_unknown_channel(settings.channel, channels, prefix, at))
        if kind in PROTECTED and condition is not None and not _has_conditions(condition):
            problems.append(
                Problem(
                    f"{prefix}: {kind} with no conditions would {kind} every PR",
                    'add the conditions that make it safe, e.g. if: ["#approved-reviews-by>=1", '
                    '"check-success=ci"]',
                    at,
                )
            )
        actions.append(Action(kind, settings, MappingProxyType(templates)))

    if condition is not None and any(a.kind in REVIEW_PHASE for a in actions):
        used = sorted({leaf.attr for leaf in leaves(condition)} & REVIEW_RESULT_ATTRS)
        if used:
            problems.append(
                Problem(
                    f"{prefix}: review/describe run before the review, but the conditions use "
                    f"its results ({', '.join(used)})",
                    "move review/describe to a rule without #findings/finding-rules/…-verdict "
                    "conditions",
                    ("rules", i, "if"),
                )
            )
    if len(problems) > before or condition is None:
        return None
    return Rule(cfg.name, condition, tuple(actions), i, cfg.description or "")


def _has_conditions(condition: Condition) -> bool:
    return any(True for _ in leaves(condition))


def _where_path(where: str, prefix: str) -> Path:
    """``rule 'x'[1].or[0]`` → ``(1, "or", 0)``: the parser's location as a config key path."""
    if not where.startswith(prefix):
        return ()
    out: list[str | int] = []
    for m in _WHERE_PART.finditer(where[len(prefix) :]):
        out.append(int(m.group(1)) if m.group(1) is not None else m.group(2))
    return tuple(out)


def _compile_templates(
    kind: str, settings: BaseModel, prefix: str, at: Path, problems: list[Problem]
) -> dict[str, Template]:
    out: dict[str, Template] = {}
    for name in TEMPLATE_FIELDS.get(kind, ()):
        text = getattr(settings, name)
        if text is None:
            continue
        try:
            out[name] = compile_template(text)
        except TemplateError as exc:
            problems.append(
                Problem(f"{prefix}: {kind}.{name}: {exc.message}", exc.hint, (*at, name))
            )
    return out


def _check_label_action(
    action: LabelAction,
    labels: Mapping[str, LabelSpec],
    prefix: str,
    at: Path,
    problems: list[Problem],
) -> None:
    if not action.allow_undefined:
        for key in ("add", "remove"):
            for j, name in enumerate(getattr(action, key)):
                if name not in labels:
                    close = difflib.get_close_matches(name, list(labels), n=1)
                    hint = f"did you mean {close[0]!r}? " if close else ""
                    problems.append(
                        Problem(
                            f"{prefix}: label {name!r} is not defined under labels:",
                            f"{hint}define it under labels:, or set allow_undefined: true",
                            (*at, key, j),
                        )
                    )
    if action.from_paths and not any(spec.paths for spec in labels.values()):
        problems.append(
            Problem(
                f"{prefix}: from_paths needs labels with paths:",
                'e.g. labels: {docs: {paths: ["docs/**"]}}',
                (*at, "from_paths"),
            )
        )
    if action.classify and not labels:
        problems.append(
            Problem(
                f"{prefix}: classify picks among the labels defined under labels:, and there are none",
                "define the labels the model may choose, with a description each",
                (*at, "classify"),
            )
        )


def _unknown_channel(name: str, channels: frozenset[str], prefix: str, at: Path) -> Problem:
    close = difflib.get_close_matches(name, sorted(channels), n=1)
    if close:
        hint = f"did you mean {close[0]!r}?"
    elif channels:
        hint = "channels: " + ", ".join(sorted(channels))
    else:
        hint = "define it under notify:, e.g. notify: {team-slack: {type: slack, webhook_env: SLACK_WEBHOOK_URL}}"
    return Problem(
        f"{prefix}: notify channel {name!r} is not defined under notify:", hint, (*at, "channel")
    )


__all__ = [
    "DEFAULT_RULES",
    "Action",
    "LabelSpec",
    "Pipeline",
    "PipelineError",
    "Problem",
    "Rule",
    "compile_config",
    "compile_pipeline",
    "default_pipeline",
]
