"""Checks of benchmarks/adversarial.py against a running ``kb serve``: items 1, 2, 9, 11.

Each check returns a Result; a failure inside a check is caught by the runner.
"""

from __future__ import annotations

import random
import statistics
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from adversarial_kb import ServedKb, generated_faq
from adversarial_support import (
    ADMIN,
    Result,
    leaks,
    percentile,
    query,
    run_kb,
    write_jsonl,
)

#: Personal data in the forms the issue lists (finding 1), each in a customer's question.
PERSONAL_DATA = [
    "１３８１２３４５６７８",
    "tel13812345679",
    "CARD6222021234567890123",
    "138.1234.5670",
    "138 1234 5671",
    "+86-139-1234-5672",
    "11010519491231002X",
    "110105 19491231 0036",
    "1101 0519 4912 3100 44",
    "110105491231002",
    "一三八一二三四五六七三",
    "幺三九八七六五四三二一",
    "zhang.san１９８７６５＠qq.com",
    "li.si.246813＠163．com",
    "wang-135790@example.cn",
    "幸福小区5栋120３室 门禁778899",
    "A座1201 房号 654321",
    "护照号E12345678",
    "passport G87654321",
    "6222 0212 3456 7890",
    "6217-0000-1111-2222",
    "QQ号 987654321",
    "微信 wx_13577778888",
    "（021）6888 9999",
    "0755-8888-6666",
    "订单号后的电话是 15900001111",
    "身份证：３２０１０２１９９００１０１１２３４",
    "银行卡尾号之前是 6228480402564890018",
    "联系电话一八九 一二三四 五六七八",
    "h.k. id A1234567",
]
QUESTION_TEMPLATES = ["我的快递丢了，电话{}，怎么赔？", "退货退款，联系方式 {}", "{} 改地址"]
PHONE_CHANNEL = "wx-13766665555"


def check_personal_data(kb: ServedKb, _options: Any) -> Result:
    """Finding 1: personal data in questions, channel and feedback comments stored in clear."""
    server = kb.server()
    request_ids = []
    with httpx.Client(base_url=server.base_url, headers=kb.auth(), timeout=60) as http:
        for i, secret in enumerate(PERSONAL_DATA):
            question = QUESTION_TEMPLATES[i % len(QUESTION_TEMPLATES)].format(secret)
            body = {"question": question, "channel": PHONE_CHANNEL}
            response = http.post("/v1/suggest", json=body)
            if response.status_code != 200:  # a channel the server refuses: try without
                response = http.post("/v1/suggest", json={"question": question})
            request_id = response.json().get("request_id") if response.status_code == 200 else None
            request_ids.append(request_id)
            if request_id:
                comment = f"客户又留了一遍：{secret}"
                http.post(
                    "/v1/feedback",
                    json={"request_id": request_id, "helpful": False, "comment": comment},
                )
    assert kb.home is not None
    time.sleep(1.0)
    places = _places(kb.home, server.log)
    secrets = [*PERSONAL_DATA, PHONE_CHANNEL]
    figures: dict[str, Any] = {"sent": len(PERSONAL_DATA), "answered": sum(map(bool, request_ids))}
    total_leaked = 0
    for place, text in places.items():
        leaked = [s for s in secrets if leaks(s, text)]
        total_leaked += len(leaked)
        figures[place] = f"{len(leaked)}/{len(secrets)} leaked"
        figures[f"{place}_examples"] = leaked[:5]
    return Result(
        "1 personal data",
        f"{len(PERSONAL_DATA)} questions with personal data (channel {PHONE_CHANNEL}) + "
        "feedback comments; look in query_log, feedback and the server log",
        held=total_leaked == 0 and figures["answered"] > 0,
        figures=figures,
    )


def _places(home: Path, server_log: Path) -> dict[str, str]:
    """The text of each place personal data may be kept in."""
    query_log = query(home, "SELECT question, channel, requester, reason FROM query_log")
    feedback = query(home, "SELECT comment, given_by FROM feedback")
    return {
        "query_log": "\n".join(" | ".join(str(c) for c in row) for row in query_log),
        "feedback": "\n".join(" | ".join(str(c) for c in row) for row in feedback),
        "server_log": server_log.read_text(encoding="utf-8", errors="replace"),
    }


def check_busy_database(kb: ServedKb, options: Any) -> Result:
    """Finding 2: suggest from 4 threads while ``kb import`` of a large FAQ file writes."""
    server = kb.server()
    assert kb.home is not None
    source = write_jsonl(options.root / "busy-import.jsonl", generated_faq(options.n, "adv-busy"))
    stop = threading.Event()
    records: list[tuple[float, int | None, str | None]] = []  # (ms, status, request id)
    lock = threading.Lock()
    threads = [
        threading.Thread(
            target=_suggest_loop,
            args=(server.base_url, kb.auth(), stop, records, lock, n),
            daemon=True,
        )
        for n in range(4)
    ]
    for thread in threads:
        thread.start()
    time.sleep(1.0)
    import_run = run_kb(kb.home, "import", str(source), "--as", ADMIN, "--json", timeout=900)
    time.sleep(1.0)
    stop.set()
    for thread in threads:
        thread.join(timeout=120)
    time.sleep(3.0)  # grace period for the query log
    answered = [rid for _ms, status, rid in records if status and 200 <= status < 300 and rid]
    logged = _logged(kb.home, answered)
    latencies = [ms for ms, _status, _rid in records]
    non_2xx = sum(1 for _ms, status, _rid in records if status and not 200 <= status < 300)
    connection_errors = sum(1 for _ms, status, _rid in records if status is None)
    figures = {
        "import": f"{options.n} entries, {import_run.brief()}, {import_run.seconds:.1f} s",
        "requests": len(records),
        "non_2xx": non_2xx,
        "connection_errors": connection_errors,
        "p50_ms": round(percentile(latencies, 50), 1),
        "p95_ms": round(percentile(latencies, 95), 1),
        "max_ms": round(max(latencies, default=0.0), 1),
        "answered_logged": f"{logged}/{len(answered)}",
    }
    held = bool(records) and non_2xx == 0 and connection_errors == 0 and logged == len(answered)
    return Result(
        "2 busy database",
        f"4 threads of /v1/suggest during `kb import` of {options.n:,} FAQ entries",
        held=held,
        figures=figures,
    )


def _suggest_loop(
    url: str,
    headers: dict[str, str],
    stop: threading.Event,
    records: list[tuple[float, int | None, str | None]],
    lock: threading.Lock,
    n: int,
) -> None:
    questions = ["快递丢了怎么赔", "怎么退货", "延误有补偿吗", "改地址", "投诉快递员"]
    with httpx.Client(base_url=url, headers=headers, timeout=60) as http:
        i = n
        while not stop.is_set():
            started = time.perf_counter()
            try:
                response = http.post("/v1/suggest", json={"question": questions[i % 5]})
                status: int | None = response.status_code
                request_id = response.headers.get("x-request-id")
            except httpx.HTTPError:
                status, request_id = None, None
            with lock:
                records.append(((time.perf_counter() - started) * 1000, status, request_id))
            i += 1


def _logged(home: Path, request_ids: list[str]) -> int:
    """How many of ``request_ids`` are in the query log."""
    found = 0
    for start in range(0, len(request_ids), 500):
        batch = request_ids[start : start + 500]
        marks = ",".join("?" * len(batch))
        found += query(
            home, f"SELECT COUNT(*) FROM query_log WHERE request_id IN ({marks})", *batch
        )[0][0]
    return found


def check_timing(kb: ServedKb, _options: Any) -> Result:
    """Finding 9: an internal id and a missing id answer 404 in the same time."""
    server = kb.server()
    paths = {"internal": "/v1/articles/faq-claim-internal", "missing": "/v1/articles/faq-no-such"}
    samples: dict[str, list[float]] = {"internal": [], "missing": []}
    statuses: set[int] = set()
    with httpx.Client(base_url=server.base_url, headers=kb.auth(), timeout=30) as http:
        for _ in range(50):  # warm-up
            for path in paths.values():
                http.get(path)
        for i in range(800):
            which = ("internal", "missing")[(i + i // 2) % 2]  # interleaved, order varies
            started = time.perf_counter()
            response = http.get(paths[which])
            samples[which].append((time.perf_counter() - started) * 1000)
            statuses.add(response.status_code)
    diff = statistics.median(samples["internal"]) - statistics.median(samples["missing"])
    low, high = _bootstrap_median_difference(samples["internal"], samples["missing"])
    held = (low <= 0 <= high or abs(diff) < 0.05) and statuses == {404}
    return Result(
        "9 timing",
        "GET /v1/articles/{internal id} vs a missing id, public key, 400 samples each",
        held=held,
        figures={
            "median_internal_ms": round(statistics.median(samples["internal"]), 3),
            "median_missing_ms": round(statistics.median(samples["missing"]), 3),
            "diff_ms": round(diff, 3),
            "ci95_ms": [round(low, 3), round(high, 3)],
            "statuses": sorted(statuses),
        },
    )


def _bootstrap_median_difference(a: list[float], b: list[float]) -> tuple[float, float]:
    """A bootstrap 95% interval of median(a) - median(b)."""
    rng = random.Random(9)
    differences = sorted(
        statistics.median(rng.choices(a, k=len(a))) - statistics.median(rng.choices(b, k=len(b)))
        for _ in range(2000)
    )
    return differences[49], differences[1949]


def check_smaller(kb: ServedKb, options: Any) -> Result:
    """Finding 11: 401 bodies, feedback replaced, bad-key flood, case-duplicate names, session."""
    server = kb.server()
    assert kb.home is not None
    figures: dict[str, Any] = {}
    with httpx.Client(base_url=server.base_url, timeout=30) as http:
        no_key = http.get("/v1/articles/faq-claim-public")
        bad_key = http.get(
            "/v1/articles/faq-claim-public", headers={"Authorization": "Bearer kb_00000000_wrong"}
        )
        figures["401_identical"] = _without_request_id(no_key) == _without_request_id(bad_key)
        figures["401_statuses"] = [no_key.status_code, bad_key.status_code]
        figures["feedback_rows_after_two"] = _feedback_twice(http, kb)
    figures["bad_key_flood"] = _flood(kb)
    figures["dup_user"] = _case_duplicate(kb.home, "users")
    figures["dup_key"] = _case_duplicate(kb.home, "keys")
    columns = [row[1] for row in query(kb.home, "PRAGMA table_info(query_log)")]
    figures["query_log_has_session_id"] = "session_id" in columns
    parts = {
        "401 same": figures["401_identical"],
        "one feedback row": figures["feedback_rows_after_two"] == 1,
        "429 in flood": figures["bad_key_flood"].get("429", 0) > 0,
        "Dup-1 user refused": figures["dup_user"] == "refused",
        "Dup-1 key refused": figures["dup_key"] == "refused",
    }
    figures["parts"] = {name: ("held" if ok else "NOT held") for name, ok in parts.items()}
    return Result(
        "11 smaller",
        "401 no key vs bad key; feedback twice; 200 bad keys; Dup-1 after dup-1; session_id",
        held=all(parts.values()),
        figures=figures,
    )


def _without_request_id(response: httpx.Response) -> Any:
    try:
        body = response.json()
    except ValueError:
        return response.text
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        body["error"].pop("request_id", None)
    return body


def _feedback_twice(http: httpx.Client, kb: ServedKb) -> int:
    """Feedback rows for one request after two feedbacks on it."""
    assert kb.home is not None
    response = http.post("/v1/suggest", json={"question": "怎么退货"}, headers=kb.auth())
    request_id = response.json()["request_id"]
    for helpful, comment in ((True, "first"), (False, "second")):
        http.post(
            "/v1/feedback",
            headers=kb.auth(),
            json={"request_id": request_id, "helpful": helpful, "comment": comment},
        )
    return query(kb.home, "SELECT COUNT(*) FROM feedback WHERE request_id = ?", request_id)[0][0]


def _flood(kb: ServedKb) -> dict[str, int]:
    """Status counts of 200 requests with random bad keys from one address (default limits)."""
    server = kb.server("defaults", api_rate_limit_per_minute=120)
    rng = random.Random(11)
    counts: dict[str, int] = {}
    with httpx.Client(base_url=server.base_url, timeout=30) as http:
        for _ in range(200):
            key = f"kb_{rng.getrandbits(32):08x}_{rng.getrandbits(128):032x}"
            try:
                status = str(
                    http.post(
                        "/v1/suggest",
                        json={"question": "退货"},
                        headers={"Authorization": f"Bearer {key}"},
                    ).status_code
                )
            except httpx.HTTPError:
                status = "connection error"
            counts[status] = counts.get(status, 0) + 1
    return counts


def _case_duplicate(home: Path, kind: str) -> str:
    """Whether creating ``Dup-1`` after ``dup-1`` (a user or a key) is refused."""
    runs = []
    for name in ("dup-1", "Dup-1"):
        if kind == "users":
            runs.append(run_kb(home, "users", "add", name, "--role", "agent", "--as", ADMIN))
        else:
            runs.append(run_kb(home, "keys", "create", "--name", name, "--as", ADMIN))
    if runs[0].code != 0:
        return f"setup failed: dup-1 {runs[0].brief()}"
    return "refused" if runs[1].code != 0 else "accepted"
