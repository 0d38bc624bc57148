"""The served knowledge base of benchmarks/adversarial.py, built with the real CLI.

Public and internal FAQ articles on the same topics (the API tests' set,
tests/kb/api/conftest.py): each internal answer carries the secret marker
``INTSECRET``. Imported and published by ``kb import --publish``, keys made by
``kb keys create``, served by ``kb serve`` on loopback.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from adversarial_support import ADMIN, checked, new_home, run_kb, start_server, write_jsonl

from tests.kb.api.conftest import SECRET, TOPICS
from tests.kb.api.helpers import ServerProcess

__all__ = ["SECRET", "ServedKb", "faq_rows", "generated_faq"]


def faq_rows() -> list[dict[str, Any]]:
    """The public and internal FAQ entries of every topic, as bulk-file rows."""
    rows = []
    for topic, (public, internal, _questions) in TOPICS.items():
        for audience, (question, answer, similar) in (("public", public), ("internal", internal)):
            rows.append(
                {
                    "id": f"faq-{topic}-{audience}",
                    "question": question,
                    "similar_questions": similar,
                    "answer": answer,
                    "audience": audience,
                }
            )
    return rows


def generated_faq(n: int, prefix: str = "adv-bulk") -> list[dict[str, Any]]:
    """``n`` distinct short FAQ entries (deterministic)."""
    rng = random.Random(13)
    topics = ["退款", "物流", "理赔", "发票", "会员", "地址", "取件", "投诉", "保价", "改约"]
    places = ["北京", "上海", "广州", "深圳", "成都", "杭州", "武汉", "西安"]
    rows = []
    for i in range(n):
        topic = topics[i % len(topics)]
        question = f"{rng.choice(places)}{topic}问题{i}怎么办"
        rows.append(
            {"id": f"{prefix}-{i:06d}", "question": question, "answer": f"{topic}请在APP提交。"}
        )
    return rows


@dataclass
class ServedKb:
    """The knowledge base, its servers (started on demand) and its keys."""

    root: Path
    home: Path | None = None
    keys: dict[str, str] = field(default_factory=dict)
    servers: dict[str, ServerProcess] = field(default_factory=dict)

    def build(self) -> None:
        """Create, import, publish and index the articles; create the keys."""
        if self.home is not None:
            return
        home = new_home(self.root, "served-kb")
        source = write_jsonl(self.root / "served-faq.jsonl", faq_rows())
        checked(run_kb(home, "import", str(source), "--publish", "--as", ADMIN), "import")
        for name, audience in (("public", "public"), ("internal", "internal")):
            args = ("--name", name, "--audience", audience, "--as", ADMIN, "--json")
            run = run_kb(home, "keys", "create", *args)
            self.keys[name] = checked(run, f"keys create {name}").json()["key"]
        self.home = home

    def server(self, name: str = "main", **settings: Any) -> ServerProcess:
        """The named server (started on first use; ``main`` has no practical rate limit)."""
        if name not in self.servers:
            self.build()
            assert self.home is not None
            if name == "main":
                settings = {"api_rate_limit_per_minute": 1_000_000, **settings}
            self.servers[name] = start_server(self.home, **settings)
        return self.servers[name]

    def auth(self, key: str = "public") -> dict[str, str]:
        """The Authorization header of the named key."""
        self.build()
        return {"Authorization": f"Bearer {self.keys[key]}"}

    def stop(self) -> None:
        """Stop every server."""
        for server in self.servers.values():
            server.stop()
        self.servers.clear()
