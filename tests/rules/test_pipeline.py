"""Load-time checks of the rule sections: every bad input fails with its file line and a hint."""

from __future__ import annotations

import json
import textwrap

import pytest

from prbot.config.loader import parse_config_text
from prbot.config.schema import PrbotConfig
from prbot.errors import ConfigError, ExitCode
from prbot.rules.attributes import ASSOCIATIONS
from prbot.rules.pipeline import (
    DEFAULT_RULES,
    PipelineError,
    compile_config,
    compile_pipeline,
    default_pipeline,
)
from prbot.rules.schema import ACTIONS, Actions, Association, RuleConfig

HEAD = """\
version: 1
labels:
  documentation: {color: "0075ca", description: Docs only, paths: ["docs/**", "*.md"]}
notify:
  team-slack: {type: slack, webhook_env: SLACK_WEBHOOK_URL}
rules:
"""  # rules start on line 7


def load(rules: str, head: str = HEAD):
    return parse_config_text(head + textwrap.dedent(rules), source=".prbot.yml")


def error(rules: str, head: str = HEAD) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load(rules, head)
    assert info.value.exit_code == ExitCode.USAGE
    return info.value


def test_the_documented_shape_loads_and_compiles() -> None:
    loaded = load(
        """\
        - name: review every PR
          do:
            review: {min_severity: warning, max_comments: 15}
        - name: label docs
          if: ["files~=^docs/"]
          do:
            label: {add: [documentation]}
        - name: approve
          if: ["#files<=5", "-files~=^src/", "author-association=MEMBER", "#findings-error=0"]
          do:
            approve: {}
        - name: block on errors
          if: ["#findings-error>0"]
          do:
            request-changes: {}
        - name: merge
          if: ["#approved-reviews-by>=1", "check-success=ci", "label=automerge"]
          do:
            merge: {method: squash}
            notify: {channel: team-slack, message: "merged {{ pr.title }}"}
        """
    )
    pipeline = compile_config(loaded.config)
    assert [r.name for r in pipeline.rules][:2] == ["review every PR", "label docs"]
    assert [a.kind for a in pipeline.rules[4].actions] == ["merge", "notify"]
    assert pipeline.rules[4].actions[0].settings.method == "squash"  # type: ignore[attr-defined]
    assert not pipeline.default
    assert pipeline.permissions.approve.allow_forks is False
    assert loaded.config.notify["team-slack"].webhook_env == "SLACK_WEBHOOK_URL"  # type: ignore[union-attr]


def test_unknown_action_points_at_its_line_with_the_yaml_spelling() -> None:
    err = error(
        """\
        - name: a
          if: ["label=x"]
          do:
            reqest-changes: {}
        """
    )
    assert err.line == 10 and err.key == "rules.0.do.reqest-changes"
    assert "did you mean 'request-changes'?" in err.message
    # The Python spelling is not accepted either, and gets the YAML one suggested.
    err = error("- name: a\n  do:\n    set_status: {name: x, conclusion: success}\n")
    assert "did you mean 'set-status'?" in err.message and err.line == 9


@pytest.mark.parametrize(
    ("key", "suggestion"), [("conditions", "if"), ("actions", "do"), ("nmae", "name")]
)
def test_unknown_rule_key_suggests_the_prbot_key(key: str, suggestion: str) -> None:
    err = error(f"- name: a\n  {key}: []\n  do: {{review: {{}}}}\n")
    assert err.line == 8 and f"did you mean '{suggestion}'?" in err.message


def test_unknown_action_setting_suggests_the_field() -> None:
    err = error("- name: a\n  if: [label=x]\n  do:\n    merge: {methd: squash}\n")
    assert err.line == 10 and err.key == "rules.0.do.merge.methd"
    assert "method" in (err.hint or "")


@pytest.mark.parametrize(
    ("action", "missing"),
    [
        ("set-status: {conclusion: success}", "name"),
        ("set-status: {name: ci}", "conclusion"),
        ("comment: {}", "body"),
        ("notify: {message: hi}", "channel"),
    ],
)
def test_missing_required_field(action: str, missing: str) -> None:
    err = error(f"- name: a\n  do:\n    {action}\n")
    assert err.line == 9 and err.key is not None and err.key.endswith(missing)
    assert "missing" in err.message


@pytest.mark.parametrize(
    ("action", "words"),
    [
        ("merge: {method: fast-forward}", "squash"),
        ("set-status: {name: x, conclusion: ok}", "success"),
        ("label: {}", "add, remove"),
        ("label: {add: [documentation], remove: [documentation]}", "both added and removed"),
        ("request-reviewers: {}", "users or teams"),
        ("request-reviewers: {users: ['@bob']}", "not a valid user"),
        ("request-reviewers: {teams: [justateam]}", "org/team"),
        ("label: {add: ['a,b'], allow_undefined: true}", "comma"),
    ],
)
def test_invalid_action_settings(action: str, words: str) -> None:
    err = error(f"- name: a\n  if: [label=x]\n  do:\n    {action}\n")
    assert words in err.one_line()
    assert err.line is not None and err.line >= 9


def test_rule_without_actions_is_an_error() -> None:
    err = error("- name: lonely\n  if: [draft]\n")
    assert err.line == 7 and "has no actions" in err.message
    err = error("- name: lonely\n  if: [draft]\n  do: {}\n")
    assert err.line == 9 and err.key == "rules.0.do"


def test_condition_error_has_the_line_of_the_condition() -> None:
    err = error(
        """\
        - name: docs
          if:
            - "#files<=5"
            - or:
                - label=docs
                - "autor=bob"
          do:
            label: {add: [documentation]}
        """
    )
    assert err.line == 12 and err.key == "rules.0.if.1.or.1"
    assert "rule 'docs'" in err.message and "did you mean author" in (err.hint or "")


def test_undefined_label_and_allow_undefined() -> None:
    err = error("- name: a\n  do:\n    label: {add: [documentation, documentaton]}\n")
    assert err.key == "rules.0.do.label.add.1" and err.line == 9
    assert "'documentaton' is not defined" in err.message
    assert "did you mean 'documentation'?" in (err.hint or "")
    ok = load("- name: a\n  do:\n    label: {add: [anything], allow_undefined: true}\n")
    assert ok.config.rules[0].do.label.add == ["anything"]  # type: ignore[union-attr]


def test_classify_and_from_paths_need_defined_labels() -> None:
    bare = "version: 1\nrules:\n"
    err = error("- name: a\n  do:\n    label: {classify: true}\n", head=bare)
    assert "classify" in err.message and err.line == 5
    err = error("- name: a\n  do:\n    label: {from_paths: true}\n", head=bare)
    assert "from_paths" in err.message


def test_unknown_notify_channel() -> None:
    err = error("- name: a\n  do:\n    notify: {channel: team-slak}\n")
    assert err.key == "rules.0.do.notify.channel" and err.line == 9
    assert "did you mean 'team-slack'?" in (err.hint or "")


def test_bad_channel_definitions() -> None:
    err = error("- name: a\n  do: {review: {}}\n", head="notify:\n  x: {type: pager}\nrules:\n")
    assert err.line == 2
    err = error(
        "- name: a\n  do: {review: {}}\n",
        head="notify:\n  x: {type: slack, webhook_env: 'https://hooks.example/abc'}\nrules:\n",
    )
    assert "webhook_env" in (err.key or "")


def test_duplicate_rule_names_case_insensitively() -> None:
    err = error(
        "- name: Docs\n  do: {review: {}}\n- name: other\n  do: {review: {}}\n"
        "- name: docs\n  do: {review: {}}\n"
    )
    assert err.line == 11 and err.key == "rules.2.name"
    assert "already used by rules[0]" in err.message


def test_approve_or_merge_without_conditions_is_refused() -> None:
    for action in ("approve: {}", "merge: {}"):
        err = error(f"- name: yolo\n  do:\n    {action}\n")
        assert "no conditions" in err.message and err.line == 9


def test_review_rule_cannot_depend_on_review_results() -> None:
    err = error('- name: r\n  if: ["#findings-error=0"]\n  do: {review: {}}\n')
    assert "findings-error" in err.message and err.key == "rules.0.if" and err.line == 8
    # The same condition on a non-review rule is fine.
    load('- name: r\n  if: ["#findings-error=0"]\n  do: {label: {add: [documentation]}}\n')


def test_template_errors_at_load_time() -> None:
    err = error("- name: a\n  do:\n    comment: {body: 'hi {{ pr.titel }}'}\n")
    assert err.key == "rules.0.do.comment.body" and err.line == 9
    assert "did you mean {{ pr.title }}?" in (err.hint or "")
    err = error("- name: a\n  do:\n    notify: {channel: team-slack, message: '{{ __class__ }}'}\n")
    assert err.key == "rules.0.do.notify.message"


def test_bad_label_definitions() -> None:
    err = error("- name: a\n  do: {review: {}}\n", head="labels:\n  x: {color: blue}\nrules:\n")
    assert err.key == "labels.x.color" and err.line == 2
    err = error(
        "- name: a\n  do: {review: {}}\n",
        head="labels:\n  x: {paths: ['docs/**', '{a,b']}\nrules:\n",
    )
    assert err.key == "labels.x.paths.1" and err.line == 2
    err = error("- name: a\n  do: {review: {}}\n", head="labels:\n  'a,b': {}\nrules:\n")
    assert "comma" in err.message


def test_all_problems_are_listed_with_their_lines() -> None:
    err = error(
        """\
        - name: a
          if: ["autor=x"]
          do:
            notify: {channel: nope}
        - name: b
          do:
            label: {add: [nope]}
        """
    )
    assert err.line == 8
    assert len(err.details) == 3
    assert [d.split(":")[1] for d in err.details] == ["8", "10", "13"]


def test_compile_pipeline_directly_raises_pipeline_error_with_paths() -> None:
    rule = RuleConfig.model_validate({"name": "x", "if": ["label=a"], "do": {}})
    with pytest.raises(PipelineError) as info:
        compile_pipeline([rule])
    assert info.value.path == ("rules", 0, "do")


def test_no_rules_means_the_default_pipeline_that_never_approves_or_merges() -> None:
    pipeline = compile_config(PrbotConfig())
    assert pipeline.default and len(pipeline.rules) == len(DEFAULT_RULES)
    kinds = {a.kind for r in pipeline.rules for a in r.actions}
    assert kinds == {"review", "set-status"}
    assert default_pipeline().rules == pipeline.rules
    assert compile_config(load("", head="version: 1\nrules: []\n").config).default


def test_action_registry_matches_the_model() -> None:
    aliases = {f.alias or name for name, f in Actions.model_fields.items()}
    assert aliases == set(ACTIONS)
    assert set(Association.__args__) == set(ASSOCIATIONS)  # type: ignore[attr-defined]


def test_json_schema_is_typed_for_editors() -> None:
    doc = PrbotConfig.model_json_schema()
    defs = doc["$defs"]
    assert set(defs["Actions"]["properties"]) == set(ACTIONS)
    assert defs["Actions"]["additionalProperties"] is False
    assert defs["RuleConfig"]["required"] == ["name", "do"]
    assert defs["MergeAction"]["properties"]["method"]["enum"] == ["merge", "squash", "rebase"]
    json.dumps(doc)  # serialisable
