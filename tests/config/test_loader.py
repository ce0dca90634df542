from __future__ import annotations

from pathlib import Path

import pytest

from prbot.config.loader import MAX_ALIASES, find_config, load_config, parse_config_text
from prbot.config.starter import STARTER
from prbot.errors import ConfigError, ExitCode


def _err(text: str | bytes) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        parse_config_text(text, source=".prbot.yml")
    return info.value


def test_valid_config_parses_values() -> None:
    loaded = parse_config_text(
        "version: 1\nmodel:\n  name: openai/gpt-4o-mini\n  concurrency: 2\nreview:\n  ignore: ['docs/**']\n",
        source=".prbot.yml",
    )
    assert loaded.config.model.name == "openai/gpt-4o-mini"
    assert loaded.config.model.concurrency == 2
    assert loaded.config.review.ignore == ["docs/**"]
    assert loaded.line_of("review", "ignore") == 6
    assert len(loaded.sha256) == 64


def test_empty_file_is_the_default() -> None:
    loaded = parse_config_text("", source=".prbot.yml")
    assert loaded.config.model.name is None
    assert loaded.config.review.max_comments == 30


def test_unknown_key_names_file_line_key_and_suggests() -> None:
    err = _err("version: 1\nmodel:\n  nmae: openai/gpt-4o\n")
    assert err.one_line() == ".prbot.yml:3: model.nmae: unknown key (did you mean 'name'?)"
    assert err.exit_code == ExitCode.USAGE


def test_unknown_nested_key_suggests_from_the_right_model() -> None:
    err = _err("review:\n  builtin:\n    disabel: [debug/print]\n")
    assert "review.builtin.disabel" in err.message
    assert "did you mean 'disable'" in (err.hint or "")


def test_unknown_top_level_key_without_close_match_lists_allowed() -> None:
    err = _err("zzz: 1\n")
    assert "allowed keys" in (err.hint or "")
    assert "model" in (err.hint or "")


def test_wrong_type_and_range_are_reported_with_line() -> None:
    err = _err("version: 1\nreview:\n  max_comments: -3\n")
    assert err.line == 3
    assert "greater than or equal to 0" in err.message
    err = _err("model:\n  concurrency: lots\n")
    assert err.line == 2 and "model.concurrency" in err.message


def test_all_problems_are_collected_for_validate() -> None:
    err = _err("model:\n  nmae: x\nreview:\n  max_comments: -1\n")
    assert len(err.details) == 2
    assert "1 more problem" in (err.hint or "")
    assert err.details[1].startswith(".prbot.yml:4: review.max_comments")


def test_invalid_yaml_has_a_line() -> None:
    err = _err("version: 1\nmodel: [unclosed\n")
    assert "invalid YAML" in err.message
    assert err.line is not None


def test_top_level_must_be_a_mapping() -> None:
    err = _err("- a\n- b\n")
    assert "must be a mapping" in err.message


def test_wrong_version() -> None:
    err = _err("version: 2\n")
    assert err.key == "version"


def test_python_tags_never_run() -> None:
    err = _err("version: !!python/object/apply:os.system ['echo pwned']\n")
    assert "invalid YAML" in err.message


def test_alias_bomb_is_refused_before_expansion() -> None:
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    prev = "a"
    for i in range(1, 12):
        name = f"l{i}"
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
        prev = name
    err = _err("\n".join(lines) + "\n")
    assert f"more than {MAX_ALIASES}" in err.message


def test_deep_nesting_is_refused() -> None:
    err = _err("a: " + "[" * 200 + "]" * 200 + "\n")
    assert "nesting" in err.message or "deeper" in err.message


def test_huge_file_is_refused() -> None:
    err = _err(b"# " + b"x" * (600 * 1024))
    assert "limit" in err.message


def test_non_utf8_is_a_config_error() -> None:
    err = _err(b"version: 1\nmodel:\n  name: \xff\xfe\n")
    assert "UTF-8" in err.message


def test_starter_file_is_valid() -> None:
    loaded = parse_config_text(STARTER, source="starter")
    assert loaded.config.model.name == "builtin"


def test_find_config_stops_at_repo_root(tmp_path: Path) -> None:
    (tmp_path / ".prbot.yml").write_text("version: 1\n")
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "sub").mkdir()
    assert find_config(repo / "sub") is None
    (repo / ".prbot.yaml").write_text("version: 1\n")
    assert find_config(repo / "sub") == (repo / ".prbot.yaml").resolve()


def test_load_missing_explicit_path(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yml")


def test_recursive_alias_is_refused() -> None:
    err = _err("a: &a [*a]\n")
    assert "expands" in err.message or "alias" in err.message


def test_few_aliases_are_fine() -> None:
    loaded = parse_config_text(
        "review:\n  ignore: &ign ['docs/**']\n  builtin:\n    test_globs: *ign\n",
        source=".prbot.yml",
    )
    assert loaded.config.review.builtin.test_globs == ["docs/**"]


def test_rule_conditions_are_checked_at_load_time() -> None:
    text = (
        'version: 1\nrules:\n  - name: docs\n    if:\n      - "#files<=5"\n      - "autor=bob"\n'
        "    do:\n      comment: {body: hello}\n"
    )
    err = _err(text)
    assert err.file == ".prbot.yml" and err.line == 6  # the condition itself
    assert "rule 'docs'" in err.message
    assert "author" in (err.hint or "") + err.message
    ok = parse_config_text(text.replace("autor", "author"), source=".prbot.yml")
    assert len(ok.config.rules) == 1


def test_duration_without_unit_is_a_config_error() -> None:
    err = _err(
        "version: 1\nrules:\n  - name: old\n    if: ['age>7']\n    do: {comment: {body: hi}}\n"
    )
    assert "unit" in (err.message + (err.hint or "")).lower()


def test_did_you_mean_inside_named_entries() -> None:
    err = _err("version: 1\nlabels:\n  docs: {colour: red}\n")
    assert err.line == 3 and "labels.docs.colour" in err.message
    assert "did you mean 'color'" in (err.hint or "")
