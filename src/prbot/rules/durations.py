"""Durations in rule conditions (``age>7d``) and the elapsed time they are compared with.

A duration is one or more ``<whole number><unit>`` parts, units ``s`` ``m`` ``h`` ``d`` ``w``:
``30m``, ``7d``, ``1w2d``, ``1h30m``. The unit is required because a bare ``7`` is ambiguous
(seconds? days?) and guessing wrong silently changes which PRs a rule touches. Parts may come in
any order but each unit only once, so ``1d1d`` (almost certainly a typo) is rejected.

Time is never read here: the caller supplies ``now``, so evaluation is reproducible and testable.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

UNITS: dict[str, int] = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}

#: Longer than any PR lives; also keeps ``timedelta`` far from its overflow limit.
MAX_DURATION = timedelta(days=36500)

_PART = re.compile(r"([0-9]+)([a-zA-Z]*)")
_WORD_UNITS = {
    **{w: "s" for w in ("s", "sec", "second")},
    **{w: "m" for w in ("min", "minute")},
    **{w: "h" for w in ("h", "hr", "hour")},
    **{w: "d" for w in ("d", "day")},
    **{w: "w" for w in ("w", "wk", "week")},
}
_EXAMPLES = "e.g. 30m, 12h, 7d, 2w or 1d12h"


class DurationError(ValueError):
    """A duration that cannot be read; ``hint`` says how to write it."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


def parse_duration(text: str) -> timedelta:
    """Read ``7d`` / ``1w2d`` / ``90m``; raise :class:`DurationError` with a teaching hint."""
    raw = text.strip()
    if not raw:
        raise DurationError("empty duration", f"write a number with a unit, {_EXAMPLES}")
    compact = raw.replace(" ", "")
    if re.fullmatch(r"[0-9]+", compact):
        raise DurationError(
            f"duration without a unit: {raw!r}",
            f"add a unit (s, m, h, d or w), e.g. {compact}d for {compact} days",
        )
    if re.search(r"[0-9][.,][0-9]", compact):
        raise DurationError(
            f"not a duration: {raw!r} (fractions are not allowed)",
            "use whole numbers with a smaller unit, e.g. 1d12h instead of 1.5d",
        )
    pos = 0
    seen: set[str] = set()
    seconds = 0
    while pos < len(compact):
        m = _PART.match(compact, pos)
        if m is None:
            raise DurationError(
                f"not a duration: {raw!r}",
                f"use whole numbers with a unit (s, m, h, d, w), {_EXAMPLES}",
            )
        digits, unit = m.group(1), m.group(2)
        if unit == "":
            raise DurationError(
                f"duration without a unit: {raw!r}",
                f"every number needs a unit (s, m, h, d or w), {_EXAMPLES}",
            )
        if unit not in UNITS:
            short = _WORD_UNITS.get(unit.lower().rstrip("s") or "s", "")
            hint = f"write {digits}{short}" if short else f"units are s, m, h, d and w, {_EXAMPLES}"
            raise DurationError(f"unknown duration unit {unit!r} in {raw!r}", hint)
        if unit in seen:
            raise DurationError(
                f"unit {unit!r} given twice in {raw!r}",
                f"give each unit once, {_EXAMPLES}",
            )
        seen.add(unit)
        if len(digits) > 12:
            raise DurationError(f"duration too long: {raw!r}", "durations are capped at 100 years")
        seconds += int(digits) * UNITS[unit]
        pos = m.end()
    if seconds > MAX_DURATION.total_seconds():
        raise DurationError(f"duration too long: {raw!r}", "durations are capped at 100 years")
    return timedelta(seconds=seconds)


def format_duration(value: timedelta) -> str:
    """Render a duration in the same syntax the parser reads (``-`` prefix when negative)."""
    total = int(value.total_seconds())
    sign = "-" if total < 0 else ""
    total = abs(total)
    if total == 0:
        return "0s"
    parts = []
    for unit in ("w", "d", "h", "m", "s"):
        size = UNITS[unit]
        if total >= size:
            parts.append(f"{total // size}{unit}")
            total %= size
    return sign + "".join(parts)


def elapsed(now: datetime | None, then: datetime | None) -> timedelta | None:
    """``now - then``, or ``None`` when either is unknown.

    Forges send aware timestamps while hand-written contexts often use naive ones; subtracting
    the two raises ``TypeError``. A naive timestamp is taken as UTC so evaluation never fails.
    """
    if not isinstance(now, datetime) or not isinstance(then, datetime):
        return None
    if now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)
    if then.tzinfo is None:
        then = then.replace(tzinfo=timezone.utc)
    try:
        return now - then
    except (OverflowError, ValueError):
        return None
