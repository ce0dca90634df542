"""Offline secret detection, masking and redaction.

Secrets must be found before anything is sent to a model or written anywhere, and without calling
a third party (live verification would leak the candidate), so this is a small, pure-Python set of
high-precision provider rules plus one keyword-and-entropy rule for everything else.

Speed matters because every diff goes through here: each provider rule has cheap keywords
checked with ``in`` on the lower-cased text first, and only rules whose keyword occurs run their
regex; the generic rule starts from keyword hits, not from every offset. Repetitions are bounded
and regexes start with a literal, so a hostile, very long line cannot make a scan quadratic.

Choices worth knowing:

* AWS key ids and secret keys whose value contains ``EXAMPLE`` are allowlisted, as gitleaks does:
  they are the values of AWS's own documentation and appear in countless READMEs and tests.
* ``generic-secret`` skips placeholders (``${VAR}``, ``{{ x }}``, ``%VAR%``, ``<...>``, env
  lookups, ``changeme``, ...), values with whitespace (prose, not credentials), values made of
  words (``UserAPIKeyAuth``, ``grant-type:token-exchange``), unquoted code references
  (``cfg.token``, ``get_token()``), URLs, file paths, UUIDs under a name that is not secret-like
  (``client_id``), comparisons (``==``), and anything below 3.5 bits of Shannon entropy per
  character, which in practice means values of at least 12 distinct characters.
* Provider rules win over ``generic-secret`` when they overlap; among provider rules the longer
  match wins (a private-key block beats anything found inside it).
"""

from __future__ import annotations

import bisect
import hashlib
import math
import re
import string
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

#: Stable rule ids with a human name, used in finding messages and docs.
SECRET_KINDS: dict[str, str] = {
    "aws-access-key-id": "AWS access key id",
    "aws-secret-access-key": "AWS secret access key",
    "github-token": "GitHub token",
    "gitlab-token": "GitLab token",
    "slack-token": "Slack token",
    "slack-webhook": "Slack webhook URL",
    "private-key": "private key",
    "openai-key": "OpenAI API key",
    "anthropic-key": "Anthropic API key",
    "jwt": "JSON Web Token",
    "generic-secret": "hard-coded secret",
}

GENERIC_MIN_ENTROPY = 3.5
# 3.5 bits per character needs at least 12 distinct characters, so in practice values of 10 or
# 11 characters only pass when the threshold is lowered; the bound is kept as documented.
_GENERIC_MIN_LEN = 10
_GENERIC_MAX_LEN = 150


@dataclass(frozen=True)
class SecretMatch:
    """One secret: ``text[start:end] == value`` in the scanned text."""

    rule: str
    start: int
    end: int
    value: str


def shannon_entropy(s: str) -> float:
    """Bits per character; random tokens score high, words and repeated characters low."""
    if not s:
        return 0.0
    n = len(s)
    return -sum(c / n * math.log2(c / n) for c in Counter(s).values())


def mask(value: str) -> str:
    """Enough of a secret to recognise it (``AKIA…MPLE``), never enough to use it.

    Values under 20 characters are shown as ``****``: showing eight characters of a short
    password would give most of it away.
    """
    if len(value) < 20:
        return "****"
    return f"{value[:4]}…{value[-4:]}"


def placeholder(rule: str, value: str) -> str:
    """The stable stand-in for a secret: repeats of one value get the same text."""
    digest = hashlib.sha256(value.encode("utf-8", "replace")).hexdigest()[:4]
    return f"[REDACTED:{rule}:{digest}]"


# --- provider rules ---------------------------------------------------------------------------
#
# Each regex begins with its literal prefix so ``re`` can jump from one occurrence to the next;
# the word-boundary check is a fixed-width lookbehind *after* the prefix (a leading ``\b`` would
# make every scan ~10x slower, and checking later would let a long run of prefixes go quadratic).


@dataclass(frozen=True)
class _Rule:
    id: str
    keywords: tuple[str, ...]  # lower-case; the regex runs only if one occurs in the text
    regex: re.Pattern[str]
    accept: Callable[[str], bool] | None = None  # extra check on the secret value


def _min_entropy(limit: float) -> Callable[[str], bool]:
    return lambda v: shannon_entropy(v) >= limit


def _aws_id_ok(v: str) -> bool:
    return not v.endswith("EXAMPLE") and shannon_entropy(v) >= 3.0


def _aws_secret_ok(v: str) -> bool:
    return "EXAMPLE" not in v and shannon_entropy(v) >= GENERIC_MIN_ENTROPY


def _webhook_ok(v: str) -> bool:
    # Documentation uses .../T00000000/B00000000/XXXXXXXX...; real webhook paths are random.
    return shannon_entropy(v.split(".com/", 1)[-1]) >= 3.0


_PROVIDER_RULES: tuple[_Rule, ...] = (
    _Rule(
        "aws-access-key-id",
        ("akia", "asia", "abia", "acca", "a3t"),
        re.compile(r"(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)(?<!\w....)[A-Z2-7]{16}\b"),
        _aws_id_ok,
    ),
    _Rule(
        "github-token",
        ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
        re.compile(
            r"gh[pousr]_(?<!\wgh._)[A-Za-z0-9]{36,251}\b|github_pat_(?<!\wgithub_pat_)\w{82,240}\b"
        ),
        _min_entropy(3.0),
    ),
    _Rule(
        "gitlab-token",
        ("glpat-",),
        re.compile(r"glpat-(?<!\wglpat-)[\w-]{20,64}(?:\.[\w-]{2,20}){0,2}"),
        _min_entropy(3.0),
    ),
    _Rule(
        "slack-token",
        ("xox", "xapp-"),
        re.compile(
            r"xox(?<!\wxox)(?:e\.xox[bp]-\d-[A-Za-z0-9]{100,250}"
            r"|[bpeos]-\d{1,13}-[A-Za-z0-9-]{8,250}"
            r"|[ar]-(?:\d-)?[A-Za-z0-9]{8,48})"
            r"|xapp-(?<!\wxapp-)\d-[A-Za-z0-9]{1,32}-\d{1,20}-[A-Za-z0-9]{8,128}"
        ),
        _min_entropy(2.5),
    ),
    _Rule(
        "slack-webhook",
        ("hooks.slack.com",),
        re.compile(
            r"(?:https?://)?hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_+/-]{20,200}"
        ),
        _webhook_ok,
    ),
    _Rule(
        "anthropic-key",
        ("sk-ant-",),
        re.compile(r"sk-ant-(?<![\w-]sk-ant-)[a-z]{2,10}\d{2}-[A-Za-z0-9_-]{32,200}"),
    ),
    _Rule(
        "openai-key",
        ("t3blbkfj", "sk-proj-", "sk-svcacct-", "sk-admin-"),
        re.compile(
            r"sk-(?<![\w-]sk-)(?:(?:proj|svcacct|admin)-[A-Za-z0-9_-]{40,300}"
            r"|[A-Za-z0-9_-]{0,200}T3BlbkFJ[A-Za-z0-9_-]{10,200})"
        ),
    ),
    _Rule(
        "jwt",
        (".ey",),
        re.compile(
            r"ey(?<![\w-]ey)[A-Za-z0-9_-]{15,8192}\.ey[A-Za-z0-9_-]{15,16384}\."
            r"(?:[A-Za-z0-9_-]{10,8192}={0,2})?"
        ),
    ),
)

# Private keys: found as BEGIN and END lines paired up, not with one ``[\s\S]*?`` regex, which
# rescans up to the window size for every header that has no footer.
_PK_BEGIN = re.compile(r"-----BEGIN[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----")
_PK_END = re.compile(r"-----END[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----")
# A block cut by the diff: the header ends its line, then base64 body lines (each may carry the
# diff marker or indentation of the header's line).
_PK_CUT_BODY = re.compile(r"(?=\r?\n|\Z)(?:\r?\n[+ \t>]{0,8}[A-Za-z0-9+/=]{16,200}(?=\r?\n|\Z))*")
_PK_MIN_BODY = 64
_PK_MAX_BODY = 65536


def _private_keys(text: str) -> list[SecretMatch]:
    begins = list(_PK_BEGIN.finditer(text))
    if not begins:
        return []
    ends = list(_PK_END.finditer(text))
    end_starts = [e.start() for e in ends]
    out: list[SecretMatch] = []
    for i, begin in enumerate(begins):
        next_begin = begins[i + 1].start() if i + 1 < len(begins) else len(text)
        j = bisect.bisect_left(end_starts, begin.end())
        if j < len(ends) and end_starts[j] < next_begin:
            body = end_starts[j] - begin.end()
            if body < _PK_MIN_BODY:
                continue  # "-----BEGIN ... KEY-----\n...\n-----END ..." in docs: no key in it
            if body <= _PK_MAX_BODY:
                start, end = begin.start(), ends[j].end()
                out.append(SecretMatch("private-key", start, end, text[start:end]))
                continue
        cut = _PK_CUT_BODY.match(text, begin.end())
        if cut is not None:
            start, end = begin.start(), cut.end()
            out.append(SecretMatch("private-key", start, end, text[start:end]))
    return out


# --- generic keyword + entropy rule -------------------------------------------------------------

_NAME_WORD = re.compile(
    r"password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|auth|credential"
)
# The rest of a name around its keyword, each side (run on the text and on the reversed text).
_NAME_RUN = re.compile(r"[a-z0-9_.-]{0,40}")
# After the name: an optional closing quote (JSON/dict keys), an optional type annotation
# (``password: str = ...``), the operator, then a quoted or bare value on the same line.
_GENERIC_TAIL = re.compile(
    r"""["'`]?[ \t]*(?::[ \t]*[A-Za-z_][\w.\[\], |]{0,40}?[ \t]*(?==))?"""
    # Not "==" (a comparison), "::" (a path) or "://" (a URL).
    r"""(?P<op>:=|=>|=(?!=)|:(?![:/]))[ \t]*"""
    r"""(?:(?i:bearer|basic|token)[ \t]+)?"""  # Authorization: Bearer <value>
    r"""(?:"(?P<dq>[^"\n]{1,150})"|'(?P<sq>[^'\n]{1,150})'|`(?P<bq>[^`\n]{1,150})`"""
    # No terminator lookahead: one character over the limit means "too long", with no backtracking.
    r"""|(?P<bare>[^\s"'`,;)\]}]{1,151}))"""
)
_AUTH_SCHEME = re.compile(r"(?i:bearer|basic|token)[ \t]+")
_AWS_SECRET_TAIL = re.compile(
    r"""["'`]?[ \t]*(?::=|=>|==?|:)[ \t]*["'`]?(?P<value>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])"""
)
_STOPWORDS = ("xxxx", "changeme", "example", "dummy", "test", "placeholder", "redacted", "***", "...")  # fmt: skip
_LITERALS = frozenset({"true", "false", "null", "none", "nil", "undefined", "yes", "no"})
_ENV_LOOKUPS = ("os.environ", "process.env", "getenv", "env(", "env[", "env.", "secrets.", "vault(")
_SECRET_NAME_WORDS = ("secret", "password", "passwd", "pwd", "token", "key")
_PERCENT_VAR = re.compile(r"%\w+%")
_CODE_REF = re.compile(r"[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*")
_WORD_PARTS = re.compile(r"[A-Z]*[a-z]+|[A-Z]+|[0-9]+|[^A-Za-z0-9]+")
_UUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
_URL = re.compile(r"[a-z][a-z0-9+.-]*://[^@\s]*")
_PATH = re.compile(r"(?:~|\.{1,2})?/[\w.-]+(?:/[\w.-]+)+/?")


def _name_ok(name: str) -> bool:
    # ``author``/``authority`` contain "auth" but are not credentials; ``authorization`` is.
    return not (("author" in name and "authoriz" not in name) or "tokeniz" in name)


def _wordy(value: str) -> bool:
    """Made of words (``UserAPIKeyAuth``, ``Ocp-Apim-Subscription-Key``, ``oauth2:token-exchange``,
    ``401_AUTH_FAILED``), not random characters.

    Random tokens almost always have a one-letter lower-case run (``aB3d``), several digit runs,
    or a symbol other than a separator. Word-like passphrases are missed; they are rare in code
    and usually fail the entropy threshold anyway.
    """
    digit_runs = 0
    for part in _WORD_PARTS.findall(value):
        if part[0].isdigit():
            digit_runs += 1
        elif part[-1].islower():
            if len(part) - len(part.lstrip(string.ascii_uppercase)) > len(part) - 2:
                return False  # fewer than two lower-case letters: "Xk", "b"
        elif not part[0].isupper() and part.strip("_.:/- ") != "":
            return False
    return digit_runs <= 1


def _value_ok(value: str, quoted: bool, name: str) -> bool:
    if not _GENERIC_MIN_LEN <= len(value) <= _GENERIC_MAX_LEN:
        return False
    low = value.lower()
    if (
        any(c.isspace() for c in value)
        or len(set(value)) == 1
        or low in _LITERALS
        or "${" in value
        or ("{" in value and "}" in value)  # {{ x }}, f-string or template interpolation
        or "[REDACTED:" in value
        or any(c in value for c in "\"'\\")  # nested quotes, escapes: code or markup, not a key
        or "%s" in value
        or "%(" in value
        or value.startswith("$")
        or (value.startswith("<") and value.endswith(">"))
        or _PERCENT_VAR.search(value)
        or any(s in low for s in _STOPWORDS)
        or any(s in low for s in _ENV_LOOKUPS)
        or _URL.fullmatch(value)
        or _PATH.fullmatch(value)
        or _wordy(value)
        # A UUID is an id (client_id, tenant) unless the name says otherwise (HEROKU_API_KEY).
        or (_UUID.fullmatch(value) and not any(w in name for w in _SECRET_NAME_WORDS))
    ):
        return False
    if not quoted and _looks_like_code(value):
        return False
    return shannon_entropy(value) >= GENERIC_MIN_ENTROPY


def _looks_like_code(value: str) -> bool:
    """An unquoted value that is an expression: ``f(x)``, ``a[0]``, ``cfg.token``, ``myToken``,
    ``s3_session_auth``. Bare secrets (``.env`` files) rarely have a dot or an underscore.
    """
    if any(c in "()[]{}<>" for c in value):
        return True
    if _CODE_REF.fullmatch(value) is None:
        return False
    return "." in value or "_" in value or not any(c.isdigit() for c in value)


def _named(text: str, low: str) -> tuple[list[SecretMatch], list[SecretMatch]]:
    """Values assigned to secret-looking names: ``(aws secret keys, generic secrets)``.

    Names are found from their keyword outwards rather than with one big regex, which would try
    every offset of the text and backtrack over every identifier. Keywords are searched in the
    lower-cased text (a case-insensitive regex is several times slower); ``low`` has the same
    offsets as ``text``, which :func:`find_secrets` guarantees.
    """
    aws: list[SecretMatch] = []
    generic: list[SecretMatch] = []
    rev = ""
    n = len(low)
    last_name_end = -1
    for kw in _NAME_WORD.finditer(low):
        if kw.start() < last_name_end:
            continue  # a second keyword inside a name already looked at
        rev = rev or low[::-1]
        start = kw.start() - len(_NAME_RUN.match(rev, n - kw.start()).group())
        end = _NAME_RUN.match(low, kw.end()).end()
        last_name_end = end
        name = low[start:end]
        if "aws" in name and "secret" in name:
            m = _AWS_SECRET_TAIL.match(text, end)
            if m is not None and _aws_secret_ok(value := m.group("value")):
                aws.append(SecretMatch("aws-secret-access-key", m.start("value"), m.end(), value))
                continue
        if not _name_ok(name) or low[start - 1 : start] == ":":  # AWS::Auth::X is a path
            continue
        m = _GENERIC_TAIL.match(text, end)
        if m is None:
            continue
        group = next(g for g in ("dq", "sq", "bq", "bare") if m.group(g) is not None)
        value, at = m.group(group), m.start(group)
        if scheme := _AUTH_SCHEME.match(value):  # "Bearer <value>" in quotes
            value, at = value[scheme.end() :], at + scheme.end()
        if _value_ok(value, group != "bare", name):
            generic.append(SecretMatch("generic-secret", at, at + len(value), value))
    return aws, generic


# --- scanning -----------------------------------------------------------------------------------


def display_value(match: SecretMatch) -> str:
    """What may be shown of a secret: :func:`mask` of it, or a private key's BEGIN line.

    A private key masked to ``----…----`` says nothing; its header names the key type and holds
    no key material.
    """
    if match.rule == "private-key":
        header = _PK_BEGIN.match(match.value)
        if header is not None:
            return header.group() + ("…" if len(match.value) > header.end() else "")
    return mask(match.value)


def find_secrets(text: str) -> list[SecretMatch]:
    """Every secret in ``text``, non-overlapping, sorted by start offset."""
    if not text:
        return []
    low = text.lower()
    if len(low) != len(text):
        # A few characters (e.g. U+0130) lower-case to two; keep offsets aligned with the text.
        low = "".join(c if len(c.lower()) != 1 else c.lower() for c in text)
    provider = _private_keys(text) if "private key" in low else []
    for rule in _PROVIDER_RULES:
        if any(k in low for k in rule.keywords):
            provider.extend(
                SecretMatch(rule.id, m.start(), m.end(), m.group())
                for m in rule.regex.finditer(text)
                if rule.accept is None or rule.accept(m.group())
            )
    aws, generic = _named(text, low)
    provider.extend(aws)
    # Provider matches first, longer before shorter; keep each only if it overlaps nothing kept.
    ranked = sorted(provider, key=lambda s: (s.start - s.end, s.start)) + generic
    starts: list[int] = []  # kept matches, disjoint and sorted: a neighbour check is enough
    kept: list[SecretMatch] = []
    for cand in ranked:
        i = bisect.bisect_right(starts, cand.start)
        if i > 0 and kept[i - 1].end > cand.start:
            continue
        if i < len(kept) and kept[i].start < cand.end:
            continue
        starts.insert(i, cand.start)
        kept.insert(i, cand)
    return kept


_LINE_PREFIX = re.compile(r"[+\- \t>]*")


def redact(text: str) -> tuple[str, int]:
    """``text`` with every secret replaced by its :func:`placeholder`, and how many there were.

    A match spanning several lines (a private-key block) keeps its line breaks: each line of it
    becomes the placeholder, so line numbers after it stay valid. When the block is indented or
    quoted by a diff's ``+``, that prefix is kept on every line too.
    """
    matches = find_secrets(text)
    if not matches:
        return text, 0
    parts: list[str] = []
    pos = 0
    for m in matches:
        parts.append(text[pos : m.start])
        stand_in = placeholder(m.rule, m.value)
        if "\n" not in m.value:
            parts.append(stand_in)
        else:
            line_start = text.rfind("\n", 0, m.start) + 1
            prefix = text[line_start : m.start]
            keep = prefix if _LINE_PREFIX.fullmatch(prefix) else ""
            pieces = m.value.split("\n")
            out = [stand_in]
            for piece in pieces[1:]:
                if not piece.strip():
                    out.append(piece)
                    continue
                lead = keep if keep and piece.startswith(keep) else ""
                out.append(lead + stand_in + ("\r" if piece.endswith("\r") else ""))
            parts.append("\n".join(out))
        pos = m.end
    parts.append(text[pos:])
    return "".join(parts), len(matches)


def redacted(text: str) -> str:
    """``text`` with every secret replaced by its placeholder (the count dropped)."""
    return redact(text)[0]
