"""Checks of benchmarks/adversarial.py that probe the server: leaks, fuzz, soak."""

from __future__ import annotations

import json
import random
import threading
import time
from typing import Any

import httpx
from adversarial_kb import SECRET, ServedKb
from adversarial_support import Result, RssSampler

from tests.kb.api.conftest import TOPICS


def check_leaks(kb: ServedKb, _options: Any) -> Result:
    """With a public key, ask each internal article's questions and GET its id."""
    server = kb.server()
    asked = leaked = 0
    examples = []
    with httpx.Client(base_url=server.base_url, headers=kb.auth(), timeout=60) as http:
        for topic, (_public, internal, customer_questions) in TOPICS.items():
            question, _answer, similar = internal
            for text in [question, *similar, *customer_questions]:
                response = http.post("/v1/suggest", json={"question": text})
                asked += 1
                if SECRET in response.text:
                    leaked += 1
                    examples.append(text)
            response = http.get(f"/v1/articles/faq-{topic}-internal")
            asked += 1
            if SECRET in response.text or response.status_code != 404:
                leaked += 1
                examples.append(f"GET faq-{topic}-internal -> {response.status_code}")
    return Result(
        "leak attempts",
        "public key asks each internal article's questions and rewordings, GETs its id",
        held=leaked == 0,
        figures={"requests": asked, "leaking": leaked, "examples": examples[:5]},
    )


ENDPOINTS = [
    ("POST", "/v1/suggest"),
    ("POST", "/v1/feedback"),
    ("GET", "/v1/articles/{}"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
]
ODD_TEXT = [
    "\u202e退款",
    "\u200b\u200b",
    "😀" * 50,
    "A\u0301" * 30,
    "\x00\x01\x1f",
    "\ud800",
    "退" * 20_000,
    "%00",
    "../../etc/passwd",
    "'; DROP TABLE query_log; --",
    "\ufffd\ue000",
]


def _odd_value(rng: random.Random) -> Any:
    return rng.choice(
        [
            None,
            True,
            0,
            -1,
            10**30,
            1.5e308,
            [],
            {},
            [1, "a"],
            {"a": {"b": []}},
            rng.choice(ODD_TEXT),
            "x" * rng.choice([0, 1, 1000, 70_000]),
        ]
    )


def _fuzz_request(rng: random.Random, keys: dict[str, str]) -> dict[str, Any]:
    """One random request: method, path, headers, body bytes."""
    method, path = rng.choice(ENDPOINTS)
    if "{}" in path:
        path = path.format(
            rng.choice(
                [
                    "faq-claim-public",
                    "%2e%2e",
                    "a" * 3000,
                    "%F0%9F",
                    "😀",
                    "faq-claim-internal",
                    "%00",
                    "x;y",
                    "",
                ]
            )
        )
    headers = {"Authorization": f"Bearer {rng.choice(list(keys.values()))}"}
    fields = [
        "question",
        "audience",
        "top_k",
        "as_of",
        "lang",
        "channel",
        "session_id",
        "request_id",
        "helpful",
        "comment",
        "correct_article_id",
        "unknown",
    ]
    body: Any = {name: _odd_value(rng) for name in rng.sample(fields, rng.randint(0, 5))}
    if rng.random() < 0.5:
        body["question"] = rng.choice([*ODD_TEXT, "退货", "x"])
    raw = json.dumps(body, ensure_ascii=rng.random() < 0.5).encode("utf-8", "surrogatepass")
    kind = rng.randrange(10)
    if kind == 0:
        raw = raw[: rng.randrange(len(raw) + 1)] + b"{\xff\xfe"  # broken JSON, bad UTF-8
    elif kind == 1:
        headers["Authorization"] = rng.choice(["", "Bearer", "Basic x", "Bearer " + "k" * 7000])
    elif kind == 2:
        headers["X-Long"] = "v" * rng.choice([8_000, 60_000])
    elif kind == 3:
        headers["Content-Type"] = rng.choice(["text/plain", "application/json; charset=gbk", "x"])
    elif kind == 4:
        method = rng.choice(["PUT", "DELETE", "PATCH", "OPTIONS"])
    return {"method": method, "url": path, "headers": headers, "content": raw}


def check_fuzz(kb: ServedKb, options: Any) -> Result:
    """About 300 random and malformed requests to every endpoint: count 5xx."""
    server = kb.server()
    kb.build()
    keys = {**kb.store.keys, "bad": "kb_00000000_nope"}
    rng = random.Random(options.seed)
    statuses: dict[str, int] = {}
    five_xx = []
    with httpx.Client(base_url=server.base_url, timeout=30) as http:
        for _ in range(300):
            request = _fuzz_request(rng, keys)
            try:
                status = http.request(**request).status_code
            except (httpx.HTTPError, UnicodeError, ValueError) as exc:
                status = f"client/connection error {type(exc).__name__}"  # type: ignore[assignment]
            statuses[str(status)] = statuses.get(str(status), 0) + 1
            if isinstance(status, int) and status >= 500:
                five_xx.append(f"{request['method']} {request['url'][:40]}")
    alive = httpx.get(server.base_url + "/healthz", timeout=10).status_code == 200
    return Result(
        "fuzz",
        "300 random/malformed requests (bad JSON, huge fields, control chars, wrong types, "
        "odd unicode, long headers) to every endpoint",
        held=not five_xx and alive,
        figures={
            "statuses": dict(sorted(statuses.items())),
            "5xx": len(five_xx),
            "5xx_examples": five_xx[:5],
            "server_alive": alive,
        },
    )


def check_soak(kb: ServedKb, options: Any) -> Result:
    """8 client threads on suggest/feedback/articles for N minutes; RSS slope."""
    minutes = options.soak_minutes
    if minutes <= 0:
        return Result("soak", "8 threads for N minutes", note="skipped: --soak-minutes 0")
    server = kb.server()
    assert server.process is not None
    sampler = RssSampler(server.process.pid, interval=10.0).start()
    stop = threading.Event()
    counts = {"requests": 0, "errors": 0}
    lock = threading.Lock()
    threads = [
        threading.Thread(target=_soak_client, args=(kb, n, stop, counts, lock), daemon=True)
        for n in range(8)
    ]
    for thread in threads:
        thread.start()
    time.sleep(minutes * 60)
    stop.set()
    for thread in threads:
        thread.join(timeout=120)
    sampler.stop()
    slope, first, last = _rss_trend(sampler.samples)
    held = counts["errors"] == 0 and slope < 1.0
    return Result(
        "soak",
        f"8 threads on suggest/feedback/articles for {minutes} min, server RSS every 10 s",
        held=held,
        figures={
            **counts,
            "rss_slope_mb_per_min": round(slope, 2),
            "rss_first_min_mb": round(first, 1),
            "rss_last_min_mb": round(last, 1),
            "criterion": "no errors and slope < 1 MB/min",
        },
    )


def _soak_client(
    kb: ServedKb, n: int, stop: threading.Event, counts: dict[str, int], lock: threading.Lock
) -> None:
    questions = [q for _p, _i, qs in TOPICS.values() for q in qs]
    with httpx.Client(base_url=kb.server().base_url, headers=kb.auth(), timeout=60) as http:
        i = n
        while not stop.is_set():
            ok = True
            try:
                if i % 3 == 0:
                    ok = http.get("/v1/articles/faq-claim-public").status_code == 200
                else:
                    response = http.post("/v1/suggest", json={"question": questions[i % 24]})
                    ok = response.status_code == 200
                    if ok and i % 3 == 2:
                        body = {"request_id": response.json()["request_id"], "helpful": True}
                        ok = http.post("/v1/feedback", json=body).status_code == 201
            except httpx.HTTPError:
                ok = False
            with lock:
                counts["requests"] += 1
                counts["errors"] += not ok
            i += 1


def _rss_trend(samples: list[tuple[float, float]]) -> tuple[float, float, float]:
    """The RSS slope in MB/min and the mean RSS of the first and of the last minute.

    The slope is a least-squares fit; in runs of 3 minutes or more it leaves out the
    first minute (warm-up).
    """
    if len(samples) < 2:
        return 0.0, 0.0, 0.0
    t0 = samples[0][0]
    xs = [(t - t0) / 60 for t, _mb in samples]
    ys = [mb for _t, mb in samples]
    first = [y for x, y in zip(xs, ys, strict=True) if x <= 1.0]
    last = [y for x, y in zip(xs, ys, strict=True) if x >= xs[-1] - 1.0]
    if xs[-1] >= 3.0:  # the first minute is warm-up (caches filling): fit the rest
        kept = [(x, y) for x, y in zip(xs, ys, strict=True) if x > 1.0]
        xs, ys = [x for x, _y in kept], [y for _x, y in kept]
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    denominator = sum((x - mean_x) ** 2 for x in xs) or 1.0
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / denominator
    return slope, sum(first) / len(first), sum(last) / len(last)
