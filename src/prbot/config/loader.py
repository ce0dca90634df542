"""Find, read and validate ``.prbot.yml``.

YAML is parsed with the safe loader only, after bounding size, alias count and nesting depth
(alias "billion laughs" bombs and deep nesting are real attacks on CI tools that read PR files).
Validation errors are mapped back to the file's line numbers through the composed YAML node tree,
so every message names file, line and key, with a did-you-mean hint for unknown keys.
"""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError

from prbot.config.schema import PrbotConfig
from prbot.errors import ConfigError

CONFIG_NAMES = (".prbot.yml", ".prbot.yaml")
MAX_CONFIG_BYTES = 512 * 1024
MAX_ALIASES = 100
MAX_DEPTH = 50
MAX_EXPANDED_NODES = 100_000


@dataclass(frozen=True)
class LoadedConfig:
    """A validated config and where it came from (``path`` is None for the built-in default)."""

    config: PrbotConfig
    path: Path | None
    sha256: str
    lines: dict[tuple[str | int, ...], int]

    def line_of(self, *key: str | int) -> int | None:
        return self.lines.get(tuple(key))


def find_config(start: Path) -> Path | None:
    """The config at the repository root containing ``start`` (or in ``start`` outside a repo)."""
    start = start.resolve()
    for folder in (start, *start.parents):
        for name in CONFIG_NAMES:
            candidate = folder / name
            if candidate.is_file():
                return candidate
        if (folder / ".git").exists():
            return None
    return None


def default_config() -> LoadedConfig:
    cfg = PrbotConfig()
    return LoadedConfig(cfg, None, hashlib.sha256(b"").hexdigest(), {})


def load_config(path: Path | None = None, *, start: Path | None = None) -> LoadedConfig:
    """Load ``path``, or the discovered config from ``start``, or the built-in default."""
    if path is None:
        path = find_config(start or Path.cwd())
        if path is None:
            return default_config()
    elif not path.is_file():
        raise ConfigError("config file not found", file=str(path), hint="check --config")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", file=str(path)) from None
    return parse_config_text(data, source=str(path), path=path)


def parse_config_text(
    data: bytes | str, *, source: str = "<config>", path: Path | None = None
) -> LoadedConfig:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(f"file is {len(raw)} bytes; the limit is {MAX_CONFIG_BYTES}", file=source)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text (byte {exc.start})", file=source) from None
    node = _compose(text, source)
    lines: dict[tuple[str | int, ...], int] = {}
    if node is not None:
        _check_shape(node, source, depth=0)
        _index_lines(node, (), lines)
    try:
        obj = yaml.load(text, Loader=yaml.SafeLoader) if node is not None else None
    except yaml.YAMLError as exc:  # pragma: no cover - compose already caught syntax errors
        raise ConfigError(_yaml_message(exc), file=source) from None
    if obj is None:
        obj = {}
    if not isinstance(obj, dict):
        raise ConfigError(
            f"the top level must be a mapping, not a {type(obj).__name__}",
            file=source,
            line=1,
            hint="start with 'version: 1'",
        )
    try:
        cfg = PrbotConfig.model_validate(obj)
    except ValidationError as exc:
        raise _first_error(exc, source, lines) from None
    _check_rule_conditions(cfg, source, lines)
    return LoadedConfig(cfg, path, hashlib.sha256(raw).hexdigest(), lines)


def _check_rule_conditions(
    cfg: PrbotConfig, source: str, lines: dict[tuple[str | int, ...], int]
) -> None:
    """Compile the rule pipeline now, so a bad rule fails validation, not a later run.

    Conditions, templates, label and channel references are all checked here; every problem is
    kept in ``details`` (``prbot config validate`` prints them all) with its own line.
    """
    from prbot.rules.conditions import ConditionSyntaxError
    from prbot.rules.pipeline import PipelineError, Problem, compile_config

    try:
        compile_config(cfg)
    except PipelineError as exc:
        problems = list(exc.problems)
    except ConditionSyntaxError as exc:  # not expected: the compiler wraps these
        problems = [Problem(exc.one_line(), exc.hint, ("rules",))]
    else:
        return

    def config_error(problem: Problem) -> ConfigError:
        return ConfigError(
            problem.message,
            file=source,
            line=_nearest_line(problem.path, lines),
            key=".".join(str(p) for p in problem.path) or None,
            hint=problem.hint or None,
        )

    first = config_error(problems[0])
    first.details = [config_error(p).one_line() for p in problems]
    raise first from None


def _compose(text: str, source: str) -> yaml.Node | None:
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.composer.ComposerError as exc:
        raise ConfigError(_yaml_message(exc), file=source, line=_mark_line(exc)) from None
    except yaml.YAMLError as exc:
        raise ConfigError(_yaml_message(exc), file=source, line=_mark_line(exc)) from None
    except RecursionError:
        raise ConfigError("nesting is too deep", file=source) from None


def _mark_line(exc: yaml.YAMLError) -> int | None:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    return mark.line + 1 if mark is not None else None


def _yaml_message(exc: yaml.YAMLError) -> str:
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    context = getattr(exc, "context", None)
    return f"invalid YAML: {context + ', ' if context else ''}{problem}"


def _check_shape(root: yaml.Node, source: str, depth: int) -> None:
    """Refuse alias bombs and deep nesting before any object is built.

    Aliases are shared nodes, so the *expanded* size is computed with memoisation: a document of a
    few hundred bytes can otherwise stand for billions of values once a consumer walks it.
    """
    sizes: dict[int, int] = {}
    visited: set[int] = set()
    aliases = 0
    stack: list[tuple[yaml.Node, int, bool]] = [(root, 0, False)]
    while stack:
        node, level, done = stack.pop()
        children = _children(node)
        if done:
            # A child still in progress is an ancestor: a recursive alias, infinite once expanded.
            size = 1 + sum(sizes.get(id(c), MAX_EXPANDED_NODES + 1) for c in children)
            sizes[id(node)] = size
            if size > MAX_EXPANDED_NODES:
                raise ConfigError(
                    f"the document expands to more than {MAX_EXPANDED_NODES} values",
                    file=source,
                    line=node.start_mark.line + 1,
                    hint="YAML anchors/aliases are limited to stop expansion bombs",
                )
            continue
        if id(node) in visited:
            aliases += 1
            if aliases > MAX_ALIASES:
                raise ConfigError(
                    f"more than {MAX_ALIASES} YAML alias references",
                    file=source,
                    line=node.start_mark.line + 1,
                    hint="anchors/aliases are limited to stop expansion bombs",
                )
            continue
        if level > MAX_DEPTH:
            raise ConfigError(
                f"nesting deeper than {MAX_DEPTH} levels",
                file=source,
                line=node.start_mark.line + 1,
            )
        visited.add(id(node))
        stack.append((node, level, True))
        stack.extend((child, level + 1, False) for child in children)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _index_lines(
    node: yaml.Node,
    prefix: tuple[str | int, ...],
    out: dict[tuple[str | int, ...], int],
    seen: set[int] | None = None,
) -> None:
    """Map key paths to line numbers; shared (aliased) nodes are indexed once, never expanded."""
    seen = set() if seen is None else seen
    if id(node) in seen:
        return
    seen.add(id(node))
    out.setdefault(prefix, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            key = k.value if isinstance(k, yaml.ScalarNode) else str(k.start_mark)
            out[(*prefix, key)] = k.start_mark.line + 1
            _index_lines(v, (*prefix, key), out, seen)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            out[(*prefix, i)] = item.start_mark.line + 1
            _index_lines(item, (*prefix, i), out, seen)


def _first_error(
    exc: ValidationError, source: str, lines: dict[tuple[str | int, ...], int]
) -> ConfigError:
    err = exc.errors()[0]
    loc = tuple(err["loc"])
    key = ".".join(str(p) for p in loc) or None
    line = _nearest_line(loc, lines)
    hint = None
    if err["type"] == "extra_forbidden" and loc:
        hint = _did_you_mean(str(loc[-1]), _fields_at(PrbotConfig, loc[:-1]))
        message = "unknown key"
    elif err["type"] == "missing":
        message = "required key is missing"
    else:
        message = err["msg"]
        if "input" in err and err["type"] not in ("model_type", "dict_type"):
            shown = repr(err["input"])
            message = f"{message} (got {shown[:60]})"
    more = len(exc.errors()) - 1
    if more:
        hint = f"{hint}; " if hint else ""
        hint += f"{more} more problem{'s' if more > 1 else ''}: run 'prbot config validate'"
    error = ConfigError(message, file=source, line=line, key=key, hint=hint)
    error.details = list(all_errors(exc, source, lines))
    return error


def all_errors(
    exc: ValidationError, source: str, lines: dict[tuple[str | int, ...], int]
) -> Iterator[str]:
    for err in exc.errors():
        loc = tuple(err["loc"])
        line = _nearest_line(loc, lines)
        where = f"{source}:{line}" if line else source
        hint = ""
        if err["type"] == "extra_forbidden" and loc:
            suggestion = _did_you_mean(str(loc[-1]), _fields_at(PrbotConfig, loc[:-1]))
            hint = f" ({suggestion})" if suggestion else ""
        msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
        yield f"{where}: {'.'.join(str(p) for p in loc)}: {msg}{hint}"


def _nearest_line(loc: tuple[Any, ...], lines: dict[tuple[str | int, ...], int]) -> int | None:
    for n in range(len(loc), -1, -1):
        line = lines.get(tuple(loc[:n]))
        if line is not None:
            return line
    return None


def _fields_at(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """Field names of the model at ``loc``; list indexes and mapping keys (``labels.<name>``) are stepped over."""
    current: Any = model
    skip_key = False
    for part in loc:
        if isinstance(part, int):
            continue
        if skip_key:
            skip_key = False
            continue
        field = getattr(current, "model_fields", {}).get(part)
        if field is None:
            return []
        skip_key = _is_mapping(field.annotation)
        current = _model_in(field.annotation)
        if current is None:
            return []
    return list(getattr(current, "model_fields", {}).keys())


def _unalias(annotation: Any) -> Any:
    """Type aliases (``Labels = TypeAliasType(...)``) hide their value behind ``__value__``."""
    while hasattr(annotation, "__value__"):
        annotation = annotation.__value__
    return annotation


def _is_mapping(annotation: Any) -> bool:
    annotation = _unalias(annotation)
    origin = get_origin(annotation)
    if origin in (dict, Mapping):
        return True
    return any(_is_mapping(a) for a in get_args(annotation) if get_origin(a) is not None)


def _model_in(annotation: Any) -> type[BaseModel] | None:
    annotation = _unalias(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _did_you_mean(word: str, choices: list[str]) -> str | None:
    match = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    if match:
        return f"did you mean '{match[0]}'?"
    if choices:
        return "allowed keys: " + ", ".join(choices)
    return None
