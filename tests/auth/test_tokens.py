"""Token precedence per forge, the GitHub App and job-token cases, and that values never leak."""

from __future__ import annotations

from collections.abc import Iterator

import keyring
import keyring.backends.fail
import keyring.backends.null
import pytest

from prbot.auth.tokens import JOB_TOKEN_MESSAGE, Credential, mask, resolve_token
from prbot.errors import PrbotError, UsageError
from tests.auth import MemoryKeyring

GH = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
GH2 = "github_pat_" + "Z" * 40 + "wxyz"
GL = "glpat-" + "x" * 20 + "9876"
PEM = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAsecretkeymaterial\n-----END RSA PRIVATE KEY-----"


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(keyring.backends.null.Keyring())


@pytest.fixture
def failing_keyring() -> Iterator[None]:
    keyring.set_keyring(keyring.backends.fail.Keyring())
    yield
    keyring.set_keyring(keyring.backends.null.Keyring())


def test_github_precedence(memory_keyring: MemoryKeyring) -> None:
    memory_keyring.store[("prbot", "github")] = "gho_" + "k" * 36
    env = {"PRBOT_GITHUB_TOKEN": GH, "GITHUB_TOKEN": GH2}
    cred = resolve_token("github", env, allow_keyring=True)
    assert cred is not None and (cred.value, cred.source, cred.kind) == (
        GH,
        "PRBOT_GITHUB_TOKEN",
        "token",
    )
    cred = resolve_token("github", {"GITHUB_TOKEN": f"  {GH2}\n"}, allow_keyring=True)
    assert cred is not None and (cred.value, cred.source) == (GH2, "GITHUB_TOKEN")
    cred = resolve_token("github", {}, allow_keyring=True)
    assert cred is not None and (cred.value, cred.source) == ("gho_" + "k" * 36, "keyring")
    assert resolve_token("github", {}, allow_keyring=False) is None


def test_keyring_is_not_consulted_in_ci(memory_keyring: MemoryKeyring) -> None:
    memory_keyring.store[("prbot", "github")] = GH
    assert resolve_token("github", {"CI": "true"}, allow_keyring=True) is None
    assert resolve_token("gitlab", {"GITLAB_CI": "true"}, allow_keyring=True) is None
    assert memory_keyring.calls == []


def test_empty_variables_count_as_unset(memory_keyring: MemoryKeyring) -> None:
    cred = resolve_token(
        "github", {"PRBOT_GITHUB_TOKEN": "  ", "GITHUB_TOKEN": GH}, allow_keyring=False
    )
    assert cred is not None and cred.source == "GITHUB_TOKEN"


def test_github_app(memory_keyring: MemoryKeyring) -> None:
    env = {
        "PRBOT_GITHUB_APP_ID": "123456",
        "PRBOT_GITHUB_APP_PRIVATE_KEY": PEM,
        "PRBOT_GITHUB_APP_INSTALLATION_ID": "987",
        "GITHUB_TOKEN": GH,
    }
    cred = resolve_token("github", env, allow_keyring=False)
    assert cred is not None and cred.kind == "github-app"
    assert (cred.app_id, cred.installation_id, cred.source) == (
        "123456",
        "987",
        "PRBOT_GITHUB_APP_ID",
    )
    assert cred.value.startswith("-----BEGIN RSA PRIVATE KEY-----\n")
    assert "secretkeymaterial" not in repr(cred) + str(cred)
    # An explicit prbot token still wins over the App.
    explicit = resolve_token("github", {**env, "PRBOT_GITHUB_TOKEN": GH2}, allow_keyring=False)
    assert explicit is not None and explicit.source == "PRBOT_GITHUB_TOKEN"


def test_github_app_key_with_escaped_newlines() -> None:
    env = {"PRBOT_GITHUB_APP_ID": "1", "PRBOT_GITHUB_APP_PRIVATE_KEY": PEM.replace("\n", "\\n")}
    cred = resolve_token("github", env, allow_keyring=False)
    assert cred is not None and cred.value == PEM + "\n" and cred.installation_id == ""


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"PRBOT_GITHUB_APP_ID": "1"},
            "PRBOT_GITHUB_APP_ID is set but PRBOT_GITHUB_APP_PRIVATE_KEY is not",
        ),
        (
            {"PRBOT_GITHUB_APP_PRIVATE_KEY": PEM},
            "PRBOT_GITHUB_APP_PRIVATE_KEY is set but PRBOT_GITHUB_APP_ID is not",
        ),
        (
            {"PRBOT_GITHUB_APP_ID": "1", "PRBOT_GITHUB_APP_PRIVATE_KEY": "not-a-key-but-secret"},
            "PRBOT_GITHUB_APP_PRIVATE_KEY is not a PEM private key (expected -----BEGIN … PRIVATE KEY-----)",
        ),
        (
            {
                "PRBOT_GITHUB_APP_ID": "1",
                "PRBOT_GITHUB_APP_PRIVATE_KEY": PEM,
                "PRBOT_GITHUB_APP_INSTALLATION_ID": "x1",
            },
            "PRBOT_GITHUB_APP_INSTALLATION_ID is not a number",
        ),
    ],
)
def test_half_configured_app_is_an_error(env: dict[str, str], message: str) -> None:
    with pytest.raises(UsageError) as info:
        resolve_token("github", {**env, "GITHUB_TOKEN": GH}, allow_keyring=False)
    assert info.value.one_line() == message
    assert "secret" not in info.value.one_line()


def test_gitlab_precedence_and_job_token(memory_keyring: MemoryKeyring) -> None:
    env = {
        "PRBOT_GITLAB_TOKEN": GL,
        "GITLAB_TOKEN": "glpat-other-token-1234",
        "CI_JOB_TOKEN": "job-" + "j" * 20,
    }
    cred = resolve_token("gitlab", env, allow_keyring=False)
    assert cred is not None and (cred.source, cred.kind, cred.read_only) == (
        "PRBOT_GITLAB_TOKEN",
        "token",
        False,
    )
    del env["PRBOT_GITLAB_TOKEN"]
    cred = resolve_token("gitlab", env, allow_keyring=False)
    assert cred is not None and cred.source == "GITLAB_TOKEN"
    del env["GITLAB_TOKEN"]
    memory_keyring.store[("prbot", "gitlab")] = GL
    cred = resolve_token("gitlab", env, allow_keyring=True)
    assert (
        cred is not None and cred.source == "keyring"
    )  # outside CI the keyring beats the job token
    env["CI"] = "true"
    cred = resolve_token("gitlab", env, allow_keyring=True)
    assert cred is not None
    assert (cred.kind, cred.read_only, cred.source) == ("job-token", True, "CI_JOB_TOKEN")
    assert cred.message == (
        "CI_JOB_TOKEN can read but not write notes: set PRBOT_GITLAB_TOKEN to a project access "
        "token with the api scope"
    )
    assert cred.message == JOB_TOKEN_MESSAGE
    assert "(read-only)" in str(cred)


def test_bitbucket_precedence(memory_keyring: MemoryKeyring) -> None:
    env = {
        "PRBOT_BITBUCKET_TOKEN": "bbtoken-" + "b" * 20,
        "BITBUCKET_USERNAME": "bob",
        "BITBUCKET_APP_PASSWORD": "app-password-123456",
    }
    cred = resolve_token("bitbucket", env, allow_keyring=False)
    assert cred is not None and (cred.kind, cred.source) == ("bearer", "PRBOT_BITBUCKET_TOKEN")
    del env["PRBOT_BITBUCKET_TOKEN"]
    cred = resolve_token("bitbucket", env, allow_keyring=False)
    assert cred is not None and (cred.kind, cred.username, cred.value) == (
        "basic",
        "bob",
        "app-password-123456",
    )
    assert "app-password-123456" not in repr(cred) and repr(cred).count("bob") == 1
    memory_keyring.store[("prbot", "bitbucket")] = "kr-" + "k" * 30
    cred = resolve_token("bitbucket", {"BITBUCKET_USERNAME": "bob"}, allow_keyring=True)
    assert cred is not None and (cred.kind, cred.source) == ("bearer", "keyring")


def test_bitbucket_password_without_user() -> None:
    with pytest.raises(UsageError) as info:
        resolve_token(
            "bitbucket", {"BITBUCKET_APP_PASSWORD": "pw-123456789012"}, allow_keyring=False
        )
    assert info.value.one_line() == "BITBUCKET_APP_PASSWORD is set but BITBUCKET_USERNAME is not"


def test_model_keys(memory_keyring: MemoryKeyring) -> None:
    cred = resolve_token("model:openai", {"OPENAI_API_KEY": "sk-" + "o" * 40}, allow_keyring=True)
    assert cred is not None and (cred.kind, cred.source) == ("api-key", "OPENAI_API_KEY")
    memory_keyring.store[("prbot", "model:anthropic")] = "sk-ant-" + "a" * 30
    cred = resolve_token("model:anthropic", {}, allow_keyring=True)
    assert cred is not None and cred.source == "keyring"


@pytest.mark.parametrize(
    "bad", ["ghp_abc def", "ghp_abc\nAuthorization: x", "ghp_tökén1234567", "a\x00b"]
)
def test_tokens_with_whitespace_or_control_characters_are_refused(bad: str) -> None:
    with pytest.raises(UsageError) as info:
        resolve_token("github", {"GITHUB_TOKEN": bad}, allow_keyring=False)
    line = info.value.one_line()
    assert line.startswith("GITHUB_TOKEN contains whitespace")
    assert bad not in line and "abc" not in line


def test_unknown_forge() -> None:
    with pytest.raises(UsageError, match=r"^unknown credential 'gitea'"):
        resolve_token("gitea", {}, allow_keyring=False)


def test_broken_keyring_names_the_variable(failing_keyring: None) -> None:
    with pytest.raises(UsageError) as info:
        resolve_token("gitlab", {}, allow_keyring=True)
    assert info.value.one_line() == (
        "no OS keyring available here (typical on headless CI): set GITLAB_TOKEN instead"
    )
    # Environment tokens never reach the broken keyring.
    assert resolve_token("gitlab", {"GITLAB_TOKEN": GL}, allow_keyring=True) is not None


@pytest.mark.parametrize(
    ("value", "masked"),
    [(GH, "ghp_…Q7r8"), ("short-token-1", "…en-1"), ("tiny", "…"), ("", "…")],
)
def test_mask(value: str, masked: str) -> None:
    assert mask(value) == masked


def test_credential_never_shows_its_value() -> None:
    cred = Credential(GH, "GITHUB_TOKEN", "token")
    for text in (repr(cred), str(cred), f"{cred}", f"{cred!r}", repr([cred]), repr({"c": cred})):
        assert GH not in text and GH[4:-4] not in text
    assert str(cred) == "token from GITHUB_TOKEN: ghp_…Q7r8"
    err = PrbotError(f"request failed with {cred}")
    assert GH not in err.one_line()
