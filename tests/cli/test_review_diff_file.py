"""``prbot review --diff``: the example PR, stdin, exit codes, bad input, and the audit it leaves."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from tests.helpers import EXAMPLE_DIFF, prbot

RAW_SECRETS = ("AKIAZ7QWERTY234ABCDE", "ghp_x9Kd83Jfq0ZpLm2Wn7Rt5Yv1Bc4Hs6Ue8Ga3")


def test_example_pr_json_document(tmp_path: Path) -> None:
    run = prbot("review", "--diff", str(EXAMPLE_DIFF), "--json", cwd=tmp_path)
    assert run.code == 0, run.err
    doc = run.json()
    for key in ("findings", "summary", "skipped", "model", "usage", "run_id"):
        assert key in doc
    assert set(doc["usage"]) >= {"prompt_tokens", "completion_tokens", "cost_usd"}
    assert doc["model"] == "builtin"
    rules = {(f["path"], f["line"], f["rule"]) for f in doc["findings"]}
    assert ("src/shop/payments.py", 5, "secret/aws-access-key-id") in rules
    assert ("src/shop/payments.py", 22, "debug/breakpoint") in rules
    assert ("web/cart.js", 7, "merge-conflict-marker") in rules
    for f in doc["findings"]:
        assert set(f) >= {"path", "line", "severity", "rule", "message", "source"}
    assert {"path": "package-lock.json", "reason": "lock file"} in doc["skipped"]
    assert doc["verdict"] == "request-changes"
    for secret in RAW_SECRETS:
        assert secret not in run.out and secret not in run.err


def test_example_pr_terminal_view(tmp_path: Path) -> None:
    run = prbot("review", "--diff", str(EXAMPLE_DIFF), "--no-color", cwd=tmp_path)
    assert run.code == 0
    assert "src/shop/payments.py" in run.out
    assert "AKIA…BCDE" in run.out
    assert "Skipped 1 file(s)" in run.out
    assert "package-lock.json — lock file" in run.out
    assert "verdict request-changes" in run.out
    assert "\x1b[" not in run.out


def test_fail_on_sets_the_exit_code(tmp_path: Path) -> None:
    assert (
        prbot("review", "--diff", str(EXAMPLE_DIFF), "--fail-on", "error", "-q", cwd=tmp_path).code
        == 1
    )
    assert (
        prbot("review", "--diff", str(EXAMPLE_DIFF), "--fail-on", "never", "-q", cwd=tmp_path).code
        == 0
    )
    warn_only = (
        "diff --git a/a.js b/a.js\n--- a/a.js\n+++ b/a.js\n@@ -1 +1,2 @@\n x\n+console.log(1)\n"
    )
    assert (
        prbot("review", "--diff", "-", "--fail-on", "warning", cwd=tmp_path, input=warn_only).code
        == 1
    )
    assert (
        prbot("review", "--diff", "-", "--fail-on", "error", cwd=tmp_path, input=warn_only).code
        == 0
    )
    bad = prbot("review", "--diff", "-", "--fail-on", "sometimes", cwd=tmp_path, input=warn_only)
    assert bad.code == 2 and "--fail-on" in bad.err


def test_stdin_diff(tmp_path: Path) -> None:
    run = prbot("review", "--diff", "-", "--json", cwd=tmp_path, input=EXAMPLE_DIFF.read_bytes())
    assert run.code == 0
    assert len(run.json()["findings"]) >= 8


def test_empty_diff_is_nothing_to_review(tmp_path: Path) -> None:
    run = prbot("review", "--diff", "-", cwd=tmp_path, input="")
    assert run.code == 0
    assert "Nothing to review" in run.out


def test_garbage_is_a_one_line_error_and_is_audited(tmp_path: Path) -> None:
    run = prbot("review", "--diff", "-", cwd=tmp_path, input="this is not a diff\n{}\n")
    assert run.code == 2
    lines = run.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("prbot: error:")
    assert "Traceback" not in run.err
    records = list((tmp_path / ".prbot" / "runs").glob("*.json"))
    assert len(records) == 1
    rec = json.loads(records[0].read_text())
    assert rec["outcome"] == "error" and rec["exit_code"] == 2
    with sqlite3.connect(tmp_path / ".prbot" / "audit.db") as db:
        kinds = [k for (k,) in db.execute("select kind from events order by seq")]
    assert "error" in kinds and kinds[-1] == "run_finished"


def test_missing_diff_file(tmp_path: Path) -> None:
    run = prbot("review", "--diff", "nope.diff", cwd=tmp_path)
    assert run.code == 2
    assert "diff file not found: nope.diff" in run.err


def test_non_utf8_binary_and_crlf_do_not_crash(tmp_path: Path) -> None:
    data = (
        b"diff --git a/l.txt b/l.txt\r\n--- a/l.txt\r\n+++ b/l.txt\r\n@@ -1 +1,2 @@\r\n x\r\n+caf\xe9 TODO\r\n"
        b"diff --git a/img.png b/img.png\nnew file mode 100644\nindex 0000000..1111111\nBinary files /dev/null and b/img.png differ\n"
    )
    run = prbot("review", "--diff", "-", "--json", cwd=tmp_path, input=data)
    assert run.code == 0, run.err
    doc = run.json()
    assert {"path": "img.png", "reason": "binary file"} in doc["skipped"]


def test_exclude_option_lists_the_skipped_file(tmp_path: Path) -> None:
    run = prbot(
        "review", "--diff", str(EXAMPLE_DIFF), "--json", "--exclude", "web/**", cwd=tmp_path
    )
    doc = run.json()
    assert not any(f["path"] == "web/cart.js" and f["line"] for f in doc["findings"])
    assert any(s["path"] == "web/cart.js" and "--exclude" in s["reason"] for s in doc["skipped"])


def test_diff_conflicts_with_git_options(tmp_path: Path) -> None:
    run = prbot("review", "--diff", str(EXAMPLE_DIFF), "--staged", cwd=tmp_path)
    assert run.code == 2 and "cannot be combined" in run.err


def test_invalid_config_is_exit_2_with_file_and_line(tmp_path: Path) -> None:
    (tmp_path / ".prbot.yml").write_text("version: 1\nreview:\n  max_coments: 3\n")
    run = prbot("review", "--diff", str(EXAMPLE_DIFF), cwd=tmp_path)
    assert run.code == 2
    assert ".prbot.yml:3: review.max_coments: unknown key (did you mean 'max_comments'?)" in run.err
    # The failed run is still on record.
    assert list((tmp_path / ".prbot" / "runs").glob("*.json"))


def test_config_ignore_and_min_severity(tmp_path: Path) -> None:
    (tmp_path / ".prbot.yml").write_text(
        "version: 1\nreview:\n  min_severity: error\n  ignore: ['web/**']\n"
    )
    doc = prbot("review", "--diff", str(EXAMPLE_DIFF), "--json", cwd=tmp_path).json()
    assert doc["findings"]
    assert all(f["severity"] == "error" for f in doc["findings"])
    assert not any(f["path"] == "web/cart.js" for f in doc["findings"])


def test_audit_record_and_chain_after_runs(tmp_path: Path) -> None:
    for _ in range(2):
        prbot("review", "--diff", str(EXAMPLE_DIFF), "-q", cwd=tmp_path)
    verify = prbot("audit", "verify", cwd=tmp_path)
    assert verify.code == 0, verify.err
    assert "chain intact" in verify.out
    runs = prbot("audit", "show", "--json", cwd=tmp_path).json()
    assert len(runs) == 2
    one = prbot("audit", "show", runs[0]["run_id"][:20], "--json", cwd=tmp_path).json()
    kinds = {e["kind"] for e in one["events"]}
    assert {"run_started", "finding", "decision", "run_finished"} <= kinds
    dump = (tmp_path / ".prbot" / "audit.db").read_bytes()
    for secret in RAW_SECRETS:
        assert secret.encode() not in dump


def test_audit_verify_detects_tampering(tmp_path: Path) -> None:
    prbot("review", "--diff", str(EXAMPLE_DIFF), "-q", cwd=tmp_path)
    db = sqlite3.connect(tmp_path / ".prbot" / "audit.db")
    triggers = [n for (n,) in db.execute("select name from sqlite_master where type='trigger'")]
    for name in triggers:
        db.execute(f"drop trigger {name}")
    db.execute(
        "update events set payload = replace(payload, 'error', 'info') where kind = 'finding'"
    )
    db.commit()
    db.close()
    run = prbot("audit", "verify", cwd=tmp_path)
    assert run.code == 1
    assert "hash mismatch" in run.err


def test_audit_without_database(tmp_path: Path) -> None:
    run = prbot("audit", "show", cwd=tmp_path)
    assert run.code != 0 and "no audit database" in run.err


def test_sarif_and_codequality_reports(tmp_path: Path) -> None:
    run = prbot(
        "review",
        "--diff",
        str(EXAMPLE_DIFF),
        "-q",
        "--sarif",
        "out/prbot.sarif",
        "--codequality",
        "out/cq.json",
        cwd=tmp_path,
    )
    assert run.code == 0, run.err
    sarif = json.loads((tmp_path / "out" / "prbot.sarif").read_text())
    assert sarif["version"] == "2.1.0"
    results = sarif["runs"][0]["results"]
    assert any(r["ruleId"] == "secret/aws-access-key-id" for r in results)
    cq = json.loads((tmp_path / "out" / "cq.json").read_text())
    assert len({i["fingerprint"] for i in cq}) == len(cq) == len(results)
    for secret in RAW_SECRETS:
        assert secret not in (tmp_path / "out" / "prbot.sarif").read_text()
