"""Decide what a compiled pipeline would do to one PR: the :class:`Plan`.

Planning is pure: conditions are evaluated against a :class:`PRContext`, nothing is written. The
app layer executes the plan; ``prbot explain`` prints it; the audit stores ``Plan.to_dict()``. One
function serves all three so what is explained is exactly what is done.

Two phases, because some conditions need the review's results:

1. :func:`review_phase` — the ``review``/``describe`` actions of matching rules. Their rules may not
   use review results (the compiler refuses that), so they can be evaluated before the review.
   When several rules review, one review runs with their settings merged in rule order: later
   rules override ``model``/``min_severity``/``max_comments``/``summary``, ``instructions`` join.
2. :func:`plan` — every rule evaluated against the context that now holds the review's results
   (``#findings*``, ``finding-rules``, ``review-verdict``, ``model-verdict``).

Safety, enforced here whatever the rules say (refusals are listed with their reason):

* ``approve`` and ``merge`` are refused for drafts and forks unless ``permissions.approve`` /
  ``permissions.merge`` allow them;
* ``merge`` carries the head SHA from the context and is refused when it is unknown: a merge is
  only ever done with the commit that was reviewed;
* ``request-changes`` wins: when it is planned, ``approve`` and ``merge`` are refused;
* ``approve``, ``request-changes`` and ``merge`` happen at most once (the first matching rule);
  for one check name the most severe ``set-status`` conclusion wins; the author is never asked
  to review their own PR.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from prbot.rules.context import PRContext
from prbot.rules.evaluate import Explanation, evaluate
from prbot.rules.pipeline import Action, Pipeline, Rule
from prbot.rules.schema import LabelAction, Permissions, RequestReviewersAction
from prbot.rules.template import template_values

PLAN_VERSION = 1
MAX_STATUS_CHARS = 140
_SEVERITY_OF = {"success": 0, "neutral": 1, "failure": 2}
_ONCE = ("approve", "request-changes", "merge")


@dataclass(frozen=True)
class PlannedAction:
    """An action that would run, with JSON-safe parameters (templates already rendered)."""

    kind: str
    rule: str
    params: Mapping[str, object] = field(default_factory=dict, hash=False)

    @property
    def phase(self) -> str:
        return "review" if self.kind in ("review", "describe") else "act"

    def to_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "rule": self.rule, "params": _plain(self.params)}


@dataclass(frozen=True)
class Refusal:
    """An action a matching rule asked for that will not run, and why."""

    kind: str
    rule: str
    reason: str

    def to_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "rule": self.rule, "reason": self.reason}


@dataclass(frozen=True)
class RulePlan:
    """One rule's outcome: whether it matched, the evaluated conditions, what it would do."""

    name: str
    matched: bool
    explanation: Explanation
    configured: tuple[str, ...]
    actions: tuple[PlannedAction, ...] = ()
    refusals: tuple[Refusal, ...] = ()

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "matched": self.matched,
            "do": list(self.configured),
            "conditions": self.explanation.to_dict(),
            "actions": [a.to_dict() for a in self.actions],
            "refused": [r.to_dict() for r in self.refusals],
        }


@dataclass(frozen=True)
class ReviewPhase:
    """The one review and the one describe to run (merged settings), or ``None``."""

    review: Mapping[str, object] | None = None
    describe: Mapping[str, object] | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "review": None if self.review is None else _plain(self.review),
            "describe": None if self.describe is None else _plain(self.describe),
        }


@dataclass(frozen=True)
class Plan:
    rules: tuple[RulePlan, ...]
    review: ReviewPhase = field(default_factory=ReviewPhase)
    head_sha: str = ""
    default: bool = False

    @property
    def actions(self) -> tuple[PlannedAction, ...]:
        """Everything that would run: review-phase actions first, then the rest, in rule order."""
        every = [a for r in self.rules for a in r.actions]
        return tuple(
            [a for a in every if a.phase == "review"] + [a for a in every if a.phase == "act"]
        )

    @property
    def refusals(self) -> tuple[Refusal, ...]:
        return tuple(x for r in self.rules for x in r.refusals)

    @property
    def matched(self) -> tuple[str, ...]:
        return tuple(r.name for r in self.rules if r.matched)

    def kinds(self) -> tuple[str, ...]:
        """The kinds of actions that would run, in order (handy in tests and summaries)."""
        return tuple(a.kind for a in self.actions)

    def label_changes(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """Labels to add and to remove over all rules; a later rule wins over an earlier one."""
        state: dict[str, bool] = {}
        for action in self.actions:
            if action.kind != "label":
                continue
            for name in action.params.get("add", ()):  # type: ignore[union-attr]
                state[name] = True
            for name in action.params.get("remove", ()):  # type: ignore[union-attr]
                state[name] = False
        return (
            tuple(sorted(n for n, on in state.items() if on)),
            tuple(sorted(n for n, on in state.items() if not on)),
        )

    def to_dict(self) -> dict[str, object]:
        """Deterministic JSON-safe form, for ``--json``, explain and the audit record."""
        add, remove = self.label_changes()
        return {
            "version": PLAN_VERSION,
            "default_rules": self.default,
            "head_sha": self.head_sha,
            "matched": list(self.matched),
            "review_phase": self.review.to_dict(),
            "actions": [a.to_dict() for a in self.actions],
            "labels": {"add": list(add), "remove": list(remove)},
            "refused": [r.to_dict() for r in self.refusals],
            "rules": [r.to_dict() for r in self.rules],
        }


def review_phase(pipeline: Pipeline | Sequence[Rule], ctx: PRContext) -> ReviewPhase:
    """The review/describe to run before anything else, merged over the matching rules."""
    rules = pipeline.rules if isinstance(pipeline, Pipeline) else tuple(pipeline)
    matched = [
        (rule, action)
        for rule in rules
        for action in rule.actions
        if action.kind in ("review", "describe") and evaluate(rule.condition, ctx).result
    ]
    return _merge_review_phase(matched)


def plan(pipeline: Pipeline | Sequence[Rule], ctx: PRContext) -> Plan:
    """Evaluate every rule on ``ctx`` (which holds the review's results) and plan the actions."""
    if isinstance(pipeline, Pipeline):
        rules, perms, labels, default = (
            pipeline.rules,
            pipeline.permissions,
            pipeline.labels,
            pipeline.default,
        )
    else:
        rules, perms, labels, default = tuple(pipeline), Permissions(), {}, False
    evaluated = [(rule, evaluate(rule.condition, ctx)) for rule in rules]
    blocker = next(
        (
            rule.name
            for rule, ex in evaluated
            if ex.result and any(a.kind == "request-changes" for a in rule.actions)
        ),
        None,
    )
    status = _worst_statuses(evaluated)
    state = _State(blocker=blocker, statuses=status)
    out: list[RulePlan] = []
    review_actions: list[tuple[Rule, Action]] = []
    for rule, ex in evaluated:
        kinds = tuple(a.kind for a in rule.actions)
        if not ex.result:
            out.append(RulePlan(rule.name, False, ex, kinds))
            continue
        planned: list[PlannedAction] = []
        refused: list[Refusal] = []
        values = template_values(ctx, rule.name)
        for action in rule.actions:
            reason = _refusal(action, rule, ctx, perms, state)
            if reason:
                refused.append(Refusal(action.kind, rule.name, reason))
                continue
            params, note = _params(action, ctx, labels, values)
            if note:
                refused.append(Refusal(action.kind, rule.name, note))
                continue
            planned.append(PlannedAction(action.kind, rule.name, MappingProxyType(params)))
            if action.kind in ("review", "describe"):
                review_actions.append((rule, action))
        out.append(RulePlan(rule.name, True, ex, kinds, tuple(planned), tuple(refused)))
    return Plan(tuple(out), _merge_review_phase(review_actions), ctx.head_sha, default)


@dataclass
class _State:
    blocker: str | None
    statuses: dict[str, tuple[str, str]]  # check name -> (rule that reports it, conclusion)
    done: dict[str, str] = field(default_factory=dict)  # once-only kind -> rule


def _worst_statuses(evaluated: Sequence[tuple[Rule, Explanation]]) -> dict[str, tuple[str, str]]:
    worst: dict[str, tuple[str, str]] = {}
    for rule, ex in evaluated:
        if not ex.result:
            continue
        for action in rule.actions:
            if action.kind != "set-status":
                continue
            name, conclusion = action.settings.name, action.settings.conclusion  # type: ignore[attr-defined]
            if name not in worst or _SEVERITY_OF[conclusion] > _SEVERITY_OF[worst[name][1]]:
                worst[name] = (rule.name, conclusion)
    return worst


def _refusal(action: Action, rule: Rule, ctx: PRContext, perms: Permissions, st: _State) -> str:
    kind = action.kind
    if kind in ("approve", "merge"):
        allowed = perms.approve if kind == "approve" else perms.merge
        if ctx.draft and not allowed.allow_drafts:
            return f"the PR is a draft (permissions.{kind}.allow_drafts is false)"
        if ctx.fork and not allowed.allow_forks:
            return f"the PR comes from a fork (permissions.{kind}.allow_forks is false)"
        if st.blocker is not None:
            return f"request-changes from rule {st.blocker!r} wins over {kind}"
    if kind == "merge" and not ctx.head_sha:
        return "the reviewed head SHA is unknown: prbot only merges the commit it reviewed"
    if kind in _ONCE:
        if kind in st.done:
            return f"{kind} is already planned by rule {st.done[kind]!r}"
        st.done[kind] = rule.name
    if kind == "set-status":
        name = action.settings.name  # type: ignore[attr-defined]
        owner, conclusion = st.statuses[name]
        if owner != rule.name:
            return f"check {name!r} is reported as {conclusion} by rule {owner!r} (the most severe wins)"
    return ""


def _params(
    action: Action, ctx: PRContext, labels: Mapping[str, object], values: Mapping[str, str]
) -> tuple[dict[str, object], str]:
    """The action's parameters for this PR, or a reason it has nothing to do."""
    params: dict[str, object] = action.settings.model_dump(
        by_alias=True, mode="json", exclude_none=True
    )
    for name, template in action.templates.items():
        params[name] = template.render(values)
    settings = action.settings
    if isinstance(settings, LabelAction):
        add = list(settings.add)
        if settings.from_paths:
            add += [n for n, spec in labels.items() if spec.matches(ctx.files)]  # type: ignore[attr-defined]
        params = {"add": sorted(set(add)), "remove": sorted(settings.remove)}
        if settings.classify:
            params["classify_among"] = sorted(labels)
        if not (params["add"] or params["remove"] or settings.classify):
            return params, "no label applies: no defined label's paths match the changed files"
    elif isinstance(settings, RequestReviewersAction):
        author = ctx.author.lower()
        users = [u for u in settings.users if u.lower() != author]
        params["users"] = users
        if not (users or settings.teams):
            return params, "the only reviewer listed is the author"
    elif action.kind == "merge":
        params["sha"] = ctx.head_sha
    elif action.kind == "set-status":
        text = str(params.get("description") or "")
        if len(text) > MAX_STATUS_CHARS:
            params["description"] = text[: MAX_STATUS_CHARS - 1] + "…"
    return params, ""


def _merge_review_phase(matched: Sequence[tuple[Rule, Action]]) -> ReviewPhase:
    merged: dict[str, dict[str, object]] = {}
    for rule, action in matched:
        into = merged.setdefault(action.kind, {"rules": [], "instructions": []})
        into["rules"].append(rule.name)  # type: ignore[attr-defined]
        settings = action.settings
        for name in sorted(settings.model_fields_set):
            value = getattr(settings, name)
            if name == "instructions":
                if value:
                    into["instructions"].append(value)  # type: ignore[attr-defined]
            elif value is not None:
                into[name] = value
    done: dict[str, Mapping[str, object] | None] = {"review": None, "describe": None}
    for kind, settings_map in merged.items():
        parts = settings_map.pop("instructions")
        if parts:
            settings_map["instructions"] = "\n\n".join(parts)  # type: ignore[arg-type]
        done[kind] = MappingProxyType(dict(sorted(settings_map.items())))
    return ReviewPhase(done["review"], done["describe"])


def _plain(value: object) -> object:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
