"""Checks of benchmarks/adversarial.py through the kb CLI: items 4, 6, 7, 8, 10, 12."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from adversarial_kb import generated_faq
from adversarial_support import (
    ADMIN,
    Result,
    SetupError,
    checked,
    new_home,
    query,
    run_kb,
    write_jsonl,
)

ARTICLE = """---
id: four-eyes
type: policy
title: 退货政策
---
签收后七天内可以无理由退货，运费由买家承担。
"""


def check_faq_without_answer(root: Path, _options: Any) -> Result:
    """Finding 4: a FAQ entry without an answer is refused or indexed/reported, never lost."""
    home = new_home(root, "no-answer")
    rows = [
        {"id": "faq-with-answer", "question": "怎么退货", "answer": "签收后七天内可退货。"},
        {"id": "faq-no-answer", "question": "保价费怎么算"},
    ]
    source = write_jsonl(root / "no-answer.jsonl", rows)
    imported = run_kb(home, "import", str(source), "--publish", "--no-index", "--as", ADMIN)
    figures: dict[str, Any] = {"import": imported.brief()}
    if imported.code != 0:
        held = imported.is_clear_refusal(source.name, str(source), max_lines=2)
        return Result("4 FAQ without answer", _TRIED_4, held=held, figures=figures)
    ingest = run_kb(home, "ingest", "--no-progress", "--json")
    status = run_kb(home, "index", "status", "--json").json() or {}
    search = run_kb(home, "search", "保价费怎么算", "--all-chunks", "--json")
    searchable = "faq-no-answer" in search.stdout
    reported = "faq-no-answer" in ingest.stdout + ingest.stderr or any(
        "unindex" in key or "empty" in key or "skipped" in key for key in status
    )
    figures.update(
        ingest=ingest.brief(),
        published=status.get("published_articles"),
        indexed_articles=status.get("articles"),
        chunks=status.get("chunks"),
        no_answer_searchable=searchable,
        no_answer_reported=reported,
    )
    return Result("4 FAQ without answer", _TRIED_4, held=searchable or reported, figures=figures)


_TRIED_4 = "import --publish a .jsonl entry with no answer, kb ingest, index status, search"


def check_odd_home(root: Path, _options: Any) -> Result:
    """Finding 6: a KB_HOME with Chinese characters, %, (, # and spaces works end to end."""
    parent = root / "知识库 100% (测试) #1"
    parent.mkdir()
    steps: dict[str, str] = {}
    try:
        # user names are letters, digits and . _ @ - (the odd characters are in the path)
        home = new_home(parent, "家 目录", ("author-1", "author"))
        steps["init+users"] = "ok"
        source = write_jsonl(parent / "常见 问题 #1.jsonl", generated_faq(3, "odd-home"))
        for name, argv in (
            ("import+publish", ["import", str(source), "--publish", "--no-index", "--as", ADMIN]),
            ("ingest", ["ingest", "--no-progress"]),
            ("search", ["search", "退款问题0怎么办", "--json"]),
        ):
            run = run_kb(home, *argv)
            steps[name] = "ok" if run.code == 0 else run.brief()
        found = "odd-home-000000" in run.stdout
        steps["search finds it"] = "ok" if found else "no"
    except SetupError as exc:
        steps["setup"] = str(exc)
    return Result(
        "6 odd KB_HOME",
        f"init, users, import, publish, ingest, search under {parent.name!r}",
        held=all(v == "ok" for v in steps.values()) and len(steps) == 5,
        figures=steps,
    )


def check_four_eyes(root: Path, _options: Any) -> Result:
    """Finding 7: a re-saved rejected version cannot be approved by its first author."""
    home = new_home(
        root, "four-eyes", ("alice", "author,reviewer"), ("bob", "reviewer"), ("carol", "author")
    )
    source = root / "four-eyes.md"
    source.write_text(ARTICLE, encoding="utf-8")
    checked(run_kb(home, "import", str(source), "--as", "alice"), "alice imports")
    checked(run_kb(home, "submit", "four-eyes", "--as", "alice"), "alice submits")
    checked(run_kb(home, "reject", "four-eyes", "-m", "no", "--as", "bob"), "bob rejects")
    saved = run_kb(home, "edit", "four-eyes", "-f", str(source), "--as", "carol")
    if saved.code != 0:  # an open draft: save it at its revision
        shown = run_kb(home, "articles", "show", "four-eyes", "--json").json() or {}
        revision = str(shown.get("revision", 1))
        saved = run_kb(
            home, "edit", "four-eyes", "-f", str(source), "--revision", revision, "--as", "carol"
        )
    checked(saved, "carol re-saves")
    checked(run_kb(home, "submit", "four-eyes", "--as", "carol"), "carol submits")
    approve = run_kb(home, "approve", "four-eyes", "--as", "alice")
    states = query(
        home,
        "SELECT version, state FROM article_versions "
        "WHERE article_id = 'four-eyes' ORDER BY version",
    )
    return Result(
        "7 four-eyes",
        "A writes+submits, B rejects, C re-saves unchanged + submits, A approves",
        held=approve.code != 0,
        figures={"approve_by_A": approve.brief(), "versions": states},
    )


def check_markdown_titles(_root: Path, _options: Any) -> Result:
    """Finding 8: covered by the app's browser tests, not here."""
    return Result(
        "8 markdown in titles", "not run here", note="see tests: tests/app/test_hostile_text.py"
    )


def check_late_settings(root: Path, _options: Any) -> Result:
    """Finding 10: a bad setting is one clear line naming it, not an internal error."""
    home = new_home(root, "late-settings")
    cases = {
        "KB_CONFIDENCE_THRESHOLD=2 kb suggest x": (
            run_kb(home, "suggest", "x", confidence_threshold=2),
            "confidence_threshold",
        ),
        "KB_EMBED_BATCH_SIZE=0 kb ingest": (
            run_kb(home, "ingest", "--no-progress", embed_batch_size=0),
            "embed_batch_size",
        ),
    }
    figures = {}
    for name, (run, setting) in cases.items():
        held = run.is_clear_refusal(setting, setting.upper())
        figures[name] = {"held": held, "outcome": run.brief(), "lines": len(run.error_lines())}
    return Result(
        "10 late settings",
        "KB_CONFIDENCE_THRESHOLD=2 kb suggest; KB_EMBED_BATCH_SIZE=0 kb ingest",
        held=all(f["held"] for f in figures.values()),
        figures=figures,
    )


def check_cli_identity(root: Path, _options: Any) -> Result:
    """Finding 12: with cli_auth token, --as without the user's token is refused."""
    home = root / "cli-identity"
    home.mkdir()
    checked(run_kb(home, "init", cli_auth="token"), "init")
    admin = checked(
        run_kb(home, "users", "add", ADMIN, "--role", "admin", "--json", cli_auth="token"),
        "first admin",
    )
    admin_token = _token(admin.json(), admin.stdout)
    as_admin = {"cli_auth": "token", "token": admin_token}
    checked(
        run_kb(home, "users", "add", "someone", "--role", "author", "--as", ADMIN, **as_admin),
        "users add someone",
    )
    created = checked(
        run_kb(home, "users", "token", "create", "someone", "--as", ADMIN, "--json", **as_admin),
        "token create",
    )
    token = _token(created.json(), created.stdout)
    source = root / "identity.md"
    source.write_text(ARTICLE.replace("four-eyes", "identity"), encoding="utf-8")
    with_token = {"cli_auth": "token", "token": token}
    checked(run_kb(home, "import", str(source), "--as", "someone", **with_token), "import")
    without = run_kb(home, "submit", "identity", "--as", "someone", cli_auth="token")
    with_it = run_kb(home, "submit", "identity", "--as", "someone", **with_token)
    return Result(
        "12 CLI identity",
        "cli_auth token: kb submit --as someone without a token, then with theirs",
        held=without.code != 0 and with_it.code == 0,
        figures={"without_token": without.brief(), "with_token": with_it.brief()},
    )


def _token(data: Any, stdout: str) -> str:
    """The token in a command's JSON output (any field named like one), else a kb_ word."""
    if isinstance(data, dict):
        for key, value in data.items():
            if "token" in key and isinstance(value, str) and len(value) > 16:
                return value
    words = [w for w in stdout.split() if len(w) > 24]
    if not words:
        raise SetupError("no token in the output")
    return words[-1].strip("\"',")
