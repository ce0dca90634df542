"""Secret detection, masking and redaction.

Fake credentials are assembled at run time from a seeded generator, so this file holds nothing a
secret scanner (or a forge's push protection) would take for a real key.
"""

from __future__ import annotations

import hashlib
import random
import re
import string
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prbot.review.secrets import (
    SECRET_KINDS,
    SecretMatch,
    display_value,
    find_secrets,
    mask,
    placeholder,
    redact,
    shannon_entropy,
)

ALNUM = string.ascii_letters + string.digits
B32 = string.ascii_uppercase + "234567"
B64 = ALNUM + "+/"


def rand(n: int, seed: str, alphabet: str = ALNUM) -> str:
    rng = random.Random(seed)
    return "".join(rng.choice(alphabet) for _ in range(n))


def aws_id(seed: str = "aws") -> str:
    return "AK" + "IA" + rand(16, seed, B32)


def gh_token(seed: str = "gh", prefix: str = "ghp") -> str:
    return prefix + "_" + rand(36, seed)


def pem(seed: str = "pem", kind: str = "RSA ", lines: int = 6, prefix: str = "") -> str:
    body = [prefix + rand(64, f"{seed}{i}", B64) for i in range(lines)]
    dashes = "-" * 5
    return "\n".join(
        [
            f"{prefix}{dashes}BEGIN {kind}PRIVATE KEY{dashes}",
            *body,
            f"{prefix}{dashes}END {kind}PRIVATE KEY{dashes}",
        ]
    )


def jwt(seed: str = "jwt") -> str:
    return (
        "ey"
        + "J"
        + rand(30, seed + "h")
        + ".ey"
        + "J"
        + rand(60, seed + "p")
        + "."
        + rand(43, seed + "s")
    )


PROVIDER_SAMPLES: dict[str, str] = {
    "aws-access-key-id": aws_id(),
    "github-token": gh_token(),
    "gitlab-token": "gl" + "pat-" + rand(20, "gl"),
    "slack-token": "xo" + "xb-" + rand(11, "s1", string.digits) + "-" + rand(13, "s2", string.digits) + "-" + rand(24, "s3"),
    "slack-webhook": "https://hooks.slack.com/services/T" + rand(10, "w1", B32) + "/B" + rand(10, "w2", B32) + "/" + rand(24, "w3"),
    "openai-key": "sk-" + "proj-" + rand(120, "oa"),
    "anthropic-key": "sk-" + "ant-api03-" + rand(93, "an") + "AA",
    "jwt": jwt(),
}  # fmt: skip


def only(text: str) -> SecretMatch:
    found = find_secrets(text)
    assert len(found) == 1, found
    return found[0]


# --- provider rules -------------------------------------------------------------------------------


@pytest.mark.parametrize("rule", sorted(PROVIDER_SAMPLES))
def test_provider_token_is_found_with_exact_span(rule: str) -> None:
    token = PROVIDER_SAMPLES[rule]
    text = f"config:\n  value = '{token}'  # set by ops\n"
    m = only(text)
    assert (m.rule, m.value) == (rule, token)
    assert text[m.start : m.end] == token


@pytest.mark.parametrize("rule", sorted(set(PROVIDER_SAMPLES) - {"slack-webhook"}))
def test_provider_token_glued_to_a_longer_word_is_not_a_token(rule: str) -> None:
    token = PROVIDER_SAMPLES[rule]
    assert find_secrets("abc" + token) == []


def test_every_rule_has_a_human_name() -> None:
    assert set(PROVIDER_SAMPLES) | {
        "aws-secret-access-key",
        "private-key",
        "generic-secret",
    } == set(SECRET_KINDS)


def test_other_github_prefixes_and_fine_grained_pat() -> None:
    for prefix in ("gho", "ghu", "ghs", "ghr"):
        assert only(gh_token(prefix, prefix)).rule == "github-token"
    pat = "github" + "_pat_" + rand(82, "pat", ALNUM + "_")
    assert only(f"token: {pat}").value == pat


def test_aws_documentation_example_key_is_allowlisted() -> None:
    assert find_secrets("aws_access_key_id = AKIAIOSFODNN7EXAMPLE") == []
    value = "wJalrXUtnFEMI/K7MDENG/bPxRfiCY" + "EXAMPLEKEY"
    assert find_secrets(f"aws_secret_access_key = {value}") == []


def test_aws_key_id_with_low_entropy_or_wrong_alphabet_is_ignored() -> None:
    assert find_secrets("AK" + "IA" + "A" * 16) == []
    assert find_secrets("AK" + "IA" + rand(16, "x", string.ascii_lowercase)) == []
    assert only("ASIA" + rand(16, "sts", B32)).rule == "aws-access-key-id"


def test_aws_secret_key_needs_an_aws_secret_name() -> None:
    value = rand(40, "aws-secret", B64)
    m = only(f'AWS_SECRET_ACCESS_KEY="{value}"')
    assert (m.rule, m.value) == ("aws-secret-access-key", value)
    # The same 40 characters under an unrelated name are not an AWS secret key.
    assert all(s.rule != "aws-secret-access-key" for s in find_secrets(f'checksum = "{value}"'))


def test_short_github_token_is_not_matched() -> None:
    assert find_secrets("ghp_" + rand(35, "short")) == []


def test_slack_placeholders_are_ignored() -> None:
    assert find_secrets("SLACK_TOKEN=xoxb-your-token-here") == []
    docs = "https://hooks.slack.com/services/T00000000/B00000000/" + "X" * 24
    assert find_secrets(docs) == []


def test_openai_legacy_key_with_marker() -> None:
    key = "sk-" + rand(20, "o1") + "T3Blbk" + "FJ" + rand(20, "o2")
    assert only(f"OPENAI_API_KEY={key}").rule == "openai-key"


def test_jwt_needs_three_parts() -> None:
    header_payload = jwt().rsplit(".", 1)[0]
    assert find_secrets(header_payload) == []  # no trailing dot: not a token
    assert find_secrets("eyJ.eyJ.abc") == []


# --- private keys ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["RSA ", "EC ", "DSA ", "OPENSSH ", "ENCRYPTED ", ""])
def test_private_key_block_is_one_match(kind: str) -> None:
    block = pem(kind=kind)
    text = f"before\n{block}\nafter\n"
    m = only(text)
    assert m.rule == "private-key"
    assert m.value == block
    assert display_value(m) == f"-----BEGIN {kind}PRIVATE KEY-----…"


def test_pgp_private_key_block() -> None:
    dashes = "-" * 5
    block = f"{dashes}BEGIN PGP PRIVATE KEY BLOCK{dashes}\n\n{rand(200, 'pgp', B64)}\n{dashes}END PGP PRIVATE KEY BLOCK{dashes}"
    assert only(block).value == block


def test_key_cut_by_the_diff_takes_header_and_following_body_lines() -> None:
    block = pem(prefix="+")
    cut = "\n".join(block.splitlines()[:4])  # header and three body lines, no footer
    m = only(cut + "\n context line\n")
    assert m.value == cut[1:]  # from the header on: the diff marker before it is not the key


def test_header_inside_code_and_placeholder_block_are_not_keys() -> None:
    dashes = "-" * 5
    assert find_secrets(f'if line.startswith("{dashes}BEGIN RSA PRIVATE KEY{dashes}"):') == []
    doc = f"{dashes}BEGIN RSA PRIVATE KEY{dashes}\n...\n{dashes}END RSA PRIVATE KEY{dashes}\n"
    assert find_secrets(doc) == []


def test_key_in_a_json_string_with_escaped_newlines() -> None:
    block = pem().replace("\n", "\\n")
    m = only(f'{{"private_key": "{block}\\n"}}')
    assert m.rule == "private-key"
    assert m.value == block


def test_private_key_wins_over_tokens_inside_it() -> None:
    dashes = "-" * 5
    block = f"{dashes}BEGIN PRIVATE KEY{dashes}\n{aws_id()}\n{rand(64, 'b', B64)}\n{dashes}END PRIVATE KEY{dashes}"
    assert [m.rule for m in find_secrets(block)] == ["private-key"]


# --- generic secrets ------------------------------------------------------------------------------

SECRETISH = rand(12, "g1") + "#" + rand(8, "g2")  # 21 chars, high entropy


@pytest.mark.parametrize(
    "template",
    [
        'password = "{v}"',
        "password = '{v}'",
        "DB_PASSWORD={v}",
        "export API_TOKEN={v}",
        'db_password: str = "{v}"',
        '{{"apiKey": "{v}"}}',
        "client_secret: {v}",
        'token := "{v}"',
        "'auth_token' => '{v}',",
        "Server=db;Password={v};Database=x",
        "--password={v}",
        'headers = {{"Authorization": "Bearer {v}"}}',
        "Authorization: token {v}",
    ],
)
def test_generic_secret_points_at_the_value(template: str) -> None:
    text = template.format(v=SECRETISH)
    m = only(text)
    assert m.rule == "generic-secret"
    assert m.value == SECRETISH
    assert text[m.start : m.end] == SECRETISH


@pytest.mark.parametrize(
    "line",
    [
        'password = "${DB_PASSWORD}"',
        'password: "{{ vault_db_password }}"',
        "token: ${{ secrets.DEPLOY_TOKEN }}",
        "password=%DB_PASSWORD_VALUE%",
        'password = "<your-password-here>"',
        "api_key = os.environ['API_KEY_PROD_1']",
        "const token = process.env.GITHUB_TOKEN_2",
        'secret = os.getenv("APP_SECRET_9")',
        "password = None",
        "auth_enabled = false",
        'password = "aaaaaaaaaaaa"',
        'password = "xxxxxxxxXXXX1234"',
        'password = "changeme-Q8x!2"',
        'api_key = "example-key-9Fq2"',
        'secret = "dummy_Zq81_secret"',
        'token = "test-token-A1b2C3"',
        'password = "Sh0rt!x"',
        'password = "correct horse battery staple 42"',
        "token = get_token_from_env()",
        "token = self.settings.api_token_value",
        "access_key = accessKeyFromHeaders",
        "fd, token = probes[-1]",
        "if token == other.token2:",
        'if passwd == "Xk9#mP2$vL7qR4z":',
        "s3_session_auth=s3_session_auth_v2,",
        'ACCOUNT_MODE = "AWS::Auth::AccountIdEndpointMode"',
        'CHALLENGE_PASSWORD: "challengePassword"',
        'verify_token="eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9..."',
        '_ID_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:id_token"',
        "# Example: `credential.https://huggingface.co/.helper=store`",
        "expected = f'TOKEN = \"{token[:4]}…{token[-4:]}\"'",
        "log('authorization_endpoint: %s\\ntoken_endpoint: %s', a, b)",
        "www_authenticate='Bearer error=\"invalid_request\"'",
        'ACCESS_KEY_HEADER = "Ocp-Apim-Subscription-Key"',
        'oauth_client_id = "123e4567-e89b-42d3-a456-426614174000"',
        'password_field = "password_confirmation"',
        'token_url = "https://login.example.io/oauth2/v2/token"',
        'secret_file = "/etc/app/secrets/db-password.txt"',
        "author = 'Jonathan Q. Richardson-Smith 3rd'",
        'password = "[REDACTED:generic-secret:ab12]"',
        'tokenizer_name = "bert-base-uncased-v2"',
        "Authorization: Bearer ${API_TOKEN_2}",
        'auth_header = "Bearer"',
    ],
)
def test_generic_placeholders_and_code_are_not_secrets(line: str) -> None:
    assert find_secrets(line) == []


def test_generic_length_bounds() -> None:
    assert find_secrets('password = "' + rand(9, "len9") + '"') == []
    # 3.5 bits per character needs at least 12 distinct characters, so 12 is the real minimum.
    assert shannon_entropy("ElObk3tZnj") < 3.5
    assert find_secrets('password = "ElObk3tZnj"') == []
    twelve = "Xk9#mP2$" + "vL7q"  # twelve distinct characters
    assert only(f'password = "{twelve}"').rule == "generic-secret"
    assert only('password = "' + rand(150, "len150") + '"').rule == "generic-secret"
    assert find_secrets('password = "' + rand(151, "len151") + '"') == []


def test_uuid_is_a_secret_only_under_a_secret_name() -> None:
    uuid = "123e4567-e89b-42d3-a456-426614174000"
    assert only(f"HEROKU_API_KEY={uuid}").value == uuid
    assert find_secrets(f"AUTH_TENANT_ID={uuid}") == []


def test_generic_entropy_threshold() -> None:
    low = "abababab12abab"  # four distinct characters: 2 bits per character at most
    assert shannon_entropy(low) < 3.5
    assert find_secrets(f'password = "{low}"') == []


def test_provider_rule_wins_over_generic_secret() -> None:
    token = gh_token()
    assert [(m.rule, m.value) for m in find_secrets(f'GITHUB_TOKEN = "{token}"')] == [
        ("github-token", token)
    ]


def test_many_secrets_are_sorted_and_disjoint() -> None:
    parts = [PROVIDER_SAMPLES[r] for r in sorted(PROVIDER_SAMPLES)]
    text = "\n".join(f"value{i} = {p}" for i, p in enumerate(parts))
    found = find_secrets(text)
    assert [m.value for m in found] == parts
    assert all(a.end <= b.start for a, b in pairwise(found))


def test_offsets_survive_characters_that_lower_case_to_two() -> None:
    token = gh_token()
    text = "İstanbul İzmir secret_token = " + token
    m = only(text)
    assert text[m.start : m.end] == token


@pytest.mark.parametrize(
    "text",
    [
        "password=" * 5000,
        "token" * 20000,
        "-----BEGIN RSA PRIVATE KEY-----\n" * 2000,
        ("eyJ" + "a" * 14 + ".") * 3000,
        "sk-" * 10000 + "T3BlbkFJ",
        "a_" * 20000 + "password",
        "",
    ],
)
def test_pathological_inputs_give_sane_answers(text: str) -> None:
    found = find_secrets(text)
    assert all(text[m.start : m.end] == m.value for m in found)
    assert all(a.end <= b.start for a, b in pairwise(found))


# --- entropy, mask, redact ------------------------------------------------------------------------


def test_shannon_entropy_values() -> None:
    assert shannon_entropy("") == 0.0
    assert shannon_entropy("aaaa") == 0.0
    assert shannon_entropy("ab") == pytest.approx(1.0)
    assert shannon_entropy("abcd") == pytest.approx(2.0)
    assert shannon_entropy(rand(64, "e")) > 4.5


def test_mask() -> None:
    assert mask("AKIAIOSFODNN7EXAMPLE") == "AKIA…MPLE"
    assert mask("x" * 19) == "****"
    assert mask("") == "****"
    long = rand(40, "m")
    assert mask(long) == f"{long[:4]}…{long[-4:]}"
    assert long not in mask(long)


def test_redact_replaces_every_secret_with_a_stable_placeholder() -> None:
    token, key = gh_token(), aws_id()
    text = f"a={token}\nb={key}\nc={token}\n"
    out, count = redact(text)
    assert count == 3
    assert token not in out and key not in out
    digest = hashlib.sha256(token.encode()).hexdigest()[:4]
    assert out.count(f"[REDACTED:github-token:{digest}]") == 2
    assert placeholder("aws-access-key-id", key) in out
    assert out.splitlines()[0] == f"a=[REDACTED:github-token:{digest}]"


def test_redact_is_idempotent_and_leaves_clean_text_alone() -> None:
    text = f'password = "{SECRETISH}"\nname = "prbot"\n'
    once, n1 = redact(text)
    twice, n2 = redact(once)
    assert (n1, n2) == (1, 0)
    assert once == twice
    assert redact("nothing here\n") == ("nothing here\n", 0)


def test_redacting_a_key_in_a_diff_keeps_lines_and_markers() -> None:
    block = pem(prefix="+")
    diff = f"@@ -1,1 +1,9 @@\n context\n{block}\n+after\n"
    out, count = redact(diff)
    assert count == 1
    assert len(out.splitlines()) == len(diff.splitlines())
    stand_in = placeholder("private-key", only(diff).value)
    key_lines = out.splitlines()[2:10]
    assert key_lines == ["+" + stand_in] * 8
    assert out.splitlines()[-1] == "+after"
    for secret_line in block.splitlines()[1:-1]:
        assert secret_line[1:] not in out


@settings(max_examples=60, deadline=None)
@given(
    before=st.text(alphabet=" \n\t,;:='\"()[]{}<>abc", max_size=30),
    after=st.text(alphabet=" \n\t,;:='\"()[]{}<>abc.", max_size=30),
    rule=st.sampled_from(sorted(PROVIDER_SAMPLES)),
)
def test_redaction_removes_planted_tokens_whatever_surrounds_them(
    before: str, after: str, rule: str
) -> None:
    token = PROVIDER_SAMPLES[rule]
    sep = "" if not before or not before[-1].isalnum() else " "
    out, count = redact(before + sep + token + " " + after)
    assert token not in out
    assert count >= 1
    assert re.search(r"\[REDACTED:[a-z-]+:[0-9a-f]{4}\]", out)
