"""Generate the reference tables in ``docs/`` from the code, so the docs cannot drift.

``python -m prbot.docgen`` rewrites the marked regions; ``python -m prbot.docgen --check`` (run by the
test suite) fails when a region is out of date.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel

BEGIN = "<!-- BEGIN GENERATED: {name} -->"
END = "<!-- END GENERATED: {name} -->"


def _default(field: Any) -> str:
    value = field.default_factory() if field.default_factory is not None else field.default
    if value is None:
        return "—"
    if isinstance(value, BaseModel):
        return "(section)"
    return f"`{json.dumps(value)}`"


def _type_name(annotation: Any) -> str:
    if get_origin(annotation) is Literal:
        return " \\| ".join(json.dumps(a) for a in get_args(annotation))
    text = (
        str(annotation)
        if get_args(annotation)
        else getattr(annotation, "__name__", str(annotation))
    )
    for prefix in ("typing.", "prbot.config.schema.", "prbot.rules.schema."):
        text = text.replace(prefix, "")
    return text


def config_table() -> str:
    from prbot.config.schema import PrbotConfig

    rows = ["| key | type | default | meaning |", "|---|---|---|---|"]

    def walk(model: type[BaseModel], prefix: str) -> None:
        for name, field in model.model_fields.items():
            ann = field.annotation
            if isinstance(ann, type) and issubclass(ann, BaseModel):
                walk(ann, f"{prefix}{name}.")
                continue
            desc = (field.description or "").replace("|", "\\|")
            typ = _type_name(ann).replace(" | ", " \\| ")
            rows.append(
                f"| `{prefix}{name}` | {typ} | {_default(field).replace('|', chr(92) + '|')} | {desc} |"
            )

    walk(PrbotConfig, "")
    return "\n".join(rows)


def builtin_table() -> str:
    from prbot.review.builtin import RULES

    rows = ["| rule id | severity | what it flags |", "|---|---|---|"]
    for rule in RULES.values():
        rows.append(
            f"| `{rule.id}` | {rule.severity.value} | {rule.summary.replace('|', chr(92) + '|')} |"
        )
    return "\n".join(rows)


def attributes_table() -> str:
    from prbot.rules.attributes import ATTRIBUTES, OPERATOR_ORDER

    rows = [
        "| attribute | type | operators | from the forge only | meaning | example |",
        "|---|---|---|---|---|---|",
    ]
    for spec in ATTRIBUTES.values():
        ops = spec.operators(count=spec.count_only)
        shown = " ".join(f"`{o}`" for o in OPERATOR_ORDER if o in ops)
        if spec.countable and not spec.count_only:
            shown += " (and `#` counts)"
        rows.append(
            f"| `{spec.display}` | {spec.kind} | {shown} | {'yes' if spec.identity else ''} | "
            f"{spec.description.replace('|', chr(92) + '|')} | `{spec.example}` |"
        )
    return "\n".join(rows)


REGIONS = {
    "docs/configuration.md": {"config-reference": config_table},
    "docs/builtin-checks.md": {"builtin-rules": builtin_table},
    "docs/rules.md": {"rule-attributes": attributes_table},
}


def render(text: str, regions: dict[str, Any]) -> str:
    for name, make in regions.items():
        begin, end = BEGIN.format(name=name), END.format(name=name)
        if begin not in text or end not in text:
            raise ValueError(f"missing markers for region {name!r}")
        head, rest = text.split(begin, 1)
        _, tail = rest.split(end, 1)
        text = f"{head}{begin}\n{make()}\n{end}{tail}"
    return text


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    check = "--check" in args
    root = Path(args[args.index("--root") + 1]) if "--root" in args else Path.cwd()
    stale = []
    for rel, regions in REGIONS.items():
        path = root / rel
        old = path.read_text(encoding="utf-8")
        new = render(old, regions)
        if new != old:
            stale.append(rel)
            if not check:
                path.write_text(new, encoding="utf-8")
    if check and stale:
        sys.stderr.write(f"out of date: {', '.join(stale)} (run: python -m prbot.docgen)\n")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
