"""The config loader against real files in a temporary directory: discovery, ``${VAR}``
expansion, ``FLUXROUTER_*`` overrides, conversion and the one-line error messages."""

from __future__ import annotations

import textwrap
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from infrastructure.settings import ConfigError, Settings, load_settings
from infrastructure.settings.loader import expand_env
from infrastructure.settings.paths import resolve_paths

PROVIDER = """\
providers:
  - name: openai
    kind: openai
    base_url: https://api.openai.com/v1
    api_key: ${OPENAI_API_KEY}
    models:
      - name: gpt-4o-mini
        price: {input_per_mtok: 0.15, output_per_mtok: 0.60, cached_input_per_mtok: "0.075"}
"""


def write(directory: Path, text: str, name: str = "fluxrouter.yaml") -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def load(directory: Path, text: str, env: dict[str, str] | None = None) -> Settings:
    write(directory, text)
    settings, used = load_settings(None, env or {}, directory)
    assert used == str(directory / "fluxrouter.yaml")
    return settings


def error(directory: Path, text: str | None, env: dict[str, str] | None = None) -> str:
    """The message of the ConfigError the loader raises; it is always exactly one line."""
    if text is not None:
        write(directory, text)
    with pytest.raises(ConfigError) as caught:
        load_settings(None, env or {}, directory)
    message = str(caught.value)
    assert len(message.splitlines()) == 1
    assert "\n" not in message
    return message


# --- finding the file ------------------------------------------------------------------------


def test_no_file_gives_the_documented_defaults(tmp_path: Path) -> None:
    settings, used = load_settings(None, {}, tmp_path)
    assert used is None
    assert settings == resolve_paths(Settings(), tmp_path)  # relative paths from the data dir
    assert (settings.server.host, settings.server.port) == ("127.0.0.1", 8080)
    assert settings.server.public_url is None
    assert (settings.server.workers, settings.server.max_request_bytes) == (1, 8388608)
    assert settings.database.url == f"sqlite+aiosqlite:///{tmp_path}/fluxrouter.db"
    assert settings.database.pool_size == 10
    assert settings.redis.url is None
    assert settings.admin.key == ""
    assert (settings.logging.level, settings.logging.format) == ("info", "json")
    assert settings.logging.log_prompts is False
    assert settings.workers.embedded is True
    assert settings.providers == []


def test_empty_file_and_empty_sections_give_defaults(tmp_path: Path) -> None:
    defaults = resolve_paths(Settings(), tmp_path)  # relative paths from the file's directory
    assert load(tmp_path, "# nothing configured yet\n") == defaults
    assert load(tmp_path, "server:\nredis:\nproviders:\n") == defaults


def test_discovery_order_is_argument_then_env_then_working_directory(tmp_path: Path) -> None:
    write(tmp_path, "server: {port: 1001}\n")
    write(tmp_path, "server: {port: 1002}\n", "from-env.yaml")
    write(tmp_path, "server: {port: 1003}\n", "from-arg.yaml")
    env = {"FLUXROUTER_CONFIG": "from-env.yaml"}

    settings, used = load_settings("from-arg.yaml", env, tmp_path)
    assert (settings.server.port, used) == (1003, str(tmp_path / "from-arg.yaml"))
    settings, used = load_settings(None, env, tmp_path)
    assert (settings.server.port, used) == (1002, str(tmp_path / "from-env.yaml"))
    settings, used = load_settings(None, {}, tmp_path)
    assert (settings.server.port, used) == (1001, str(tmp_path / "fluxrouter.yaml"))


def test_absolute_config_path_is_used_as_is(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "cwd").mkdir()
    path = write(tmp_path / "etc", "server: {port: 1234}\n", "gateway.yaml")
    settings, used = load_settings(str(path), {}, tmp_path / "cwd")
    assert (settings.server.port, used) == (1234, str(path))


def test_a_named_file_that_does_not_exist_is_an_error(tmp_path: Path) -> None:
    message = error(tmp_path, None, {"FLUXROUTER_CONFIG": "missing.yaml"})
    assert message.startswith("missing.yaml: cannot read config file:")


# --- ${VAR} expansion ------------------------------------------------------------------------


def test_variables_defaults_and_escapes_are_expanded(tmp_path: Path) -> None:
    text = """\
        server: {host: "${HOST}", public_url: "https://${DOMAIN:-gw.example}/v1"}
        database: {url: "sqlite:///pa$${th}.db"}
        admin: {key: "${ADMIN_KEY:-}"}
        redis: {url: "${REDIS_URL:-}"}
        """
    settings = load(tmp_path, text, {"HOST": "0.0.0.0"})
    assert settings.server.host == "0.0.0.0"
    assert settings.server.public_url == "https://gw.example/v1"
    assert settings.database.url == f"sqlite:///{tmp_path}/pa${{th}}.db"
    assert settings.admin.key == ""
    assert settings.redis.url is None  # an empty optional value means "not set"
    settings = load(tmp_path, text, {"HOST": "h", "DOMAIN": "d.example", "ADMIN_KEY": "k"})
    assert (settings.server.public_url, settings.admin.key) == ("https://d.example/v1", "k")


def test_expanded_strings_convert_to_the_field_type(tmp_path: Path) -> None:
    text = "server: {port: '${PORT:-8080}'}\nlogging: {log_prompts: '${LOG_PROMPTS:-false}'}\n"
    assert load(tmp_path, text).server.port == 8080
    settings = load(tmp_path, text, {"PORT": "9000", "LOG_PROMPTS": "true"})
    assert (settings.server.port, settings.logging.log_prompts) == (9000, True)


def test_expanded_value_with_yaml_syntax_stays_one_string(tmp_path: Path) -> None:
    value = "a: b # not a comment\n- [x, {y: z}] &anchor *alias"
    assert load(tmp_path, "server:\n  host: ${HOST}\n", {"HOST": value}).server.host == value


def test_unset_variable_without_default_names_key_and_variable(tmp_path: Path) -> None:
    message = error(tmp_path, PROVIDER)
    assert message == (
        "fluxrouter.yaml: providers[0].api_key: environment variable OPENAI_API_KEY is not set"
    )


def test_malformed_reference_is_an_error(tmp_path: Path) -> None:
    message = error(tmp_path, "server: {host: '${HOST'}\n")
    assert message.startswith("fluxrouter.yaml: server.host: malformed reference")


# --- environment overrides -------------------------------------------------------------------


def test_env_overrides_replace_file_values_with_converted_types(tmp_path: Path) -> None:
    env = {
        "FLUXROUTER_SERVER_PORT": "9000",
        "FLUXROUTER_SERVER_PUBLIC_URL": "null",
        "FLUXROUTER_DATABASE_URL": "postgresql+psycopg://db/flux",
        "FLUXROUTER_REDIS_URL": "redis://cache:6379/0",
        "FLUXROUTER_ADMIN_KEY": "admin-secret",
        "FLUXROUTER_LOGGING_LOG_PROMPTS": "true",
        "FLUXROUTER_SERVER_MAX_REQUEST_BYTES": "1024",
        "FLUXROUTER_WORKERS_EMBEDDED": "false",
    }
    settings = load(tmp_path, "server: {port: 8000, public_url: 'https://gw.example'}\n", env)
    assert settings.server.port == 9000
    assert settings.server.public_url is None
    assert settings.server.max_request_bytes == 1024
    assert settings.database.url == "postgresql+psycopg://db/flux"
    assert settings.redis.url == "redis://cache:6379/0"
    assert settings.admin.key == "admin-secret"
    assert settings.logging.log_prompts is True
    assert settings.workers.embedded is False


def test_empty_override_of_an_optional_field_means_none(tmp_path: Path) -> None:
    settings = load(tmp_path, "redis: {url: 'redis://cache'}\n", {"FLUXROUTER_REDIS_URL": ""})
    assert settings.redis.url is None


def test_fluxrouter_config_is_not_an_override(tmp_path: Path) -> None:
    write(tmp_path, "server: {port: 7000}\n", "other.yaml")
    settings, _ = load_settings(None, {"FLUXROUTER_CONFIG": "other.yaml"}, tmp_path)
    assert settings.server.port == 7000


def test_override_for_an_unknown_key_names_the_variable(tmp_path: Path) -> None:
    message = error(tmp_path, None, {"FLUXROUTER_SERVER_PROT": "9000"})
    assert message.startswith("FLUXROUTER_SERVER_PROT: ")
    assert "server.prot" in message
    assert error(tmp_path, None, {"FLUXROUTER_PROVIDERS_0": "x"}).startswith(
        "FLUXROUTER_PROVIDERS_0: providers cannot be overridden"
    )


def test_bad_override_values_are_reported_under_the_variable(tmp_path: Path) -> None:
    message = error(tmp_path, None, {"FLUXROUTER_SERVER_PORT": "abc"})
    assert message == 'FLUXROUTER_SERVER_PORT: expected an integer, got "abc"'
    message = error(tmp_path, "server: {port: 8000}\n", {"FLUXROUTER_SERVER_PORT": "70000"})
    assert message == "FLUXROUTER_SERVER_PORT: must be between 1 and 65535, got 70000"


# --- conversion and validation errors --------------------------------------------------------


def test_unknown_keys_are_errors_at_every_level(tmp_path: Path) -> None:
    assert error(tmp_path, "server:\n  prot: 8080\n") == "fluxrouter.yaml: server.prot: unknown key"
    assert error(tmp_path, "sever: {}\n") == "fluxrouter.yaml: sever: unknown key"
    text = PROVIDER.replace("        price:", "        prize:")
    assert error(tmp_path, text, {"OPENAI_API_KEY": "k"}) == (
        "fluxrouter.yaml: providers[0].models[0].prize: unknown key"
    )


def test_wrong_type_names_file_key_and_value(tmp_path: Path) -> None:
    message = error(tmp_path, "server:\n  port: abc\n")
    assert message == 'fluxrouter.yaml: server.port: expected an integer, got "abc"'


def test_missing_required_key(tmp_path: Path) -> None:
    text = "providers:\n  - {name: x, kind: openai, models: []}\n"
    assert (
        error(tmp_path, text) == "fluxrouter.yaml: providers[0].base_url: required key is missing"
    )


def test_invalid_yaml_reports_the_line(tmp_path: Path) -> None:
    message = error(tmp_path, "server:\n  host: x\n  port: a: b\n")
    assert message == ("fluxrouter.yaml: line 3: invalid YAML: mapping values are not allowed here")


def test_duplicate_yaml_keys_are_errors(tmp_path: Path) -> None:
    message = error(tmp_path, "server:\n  port: 1\n  port: 2\n")
    assert message == "fluxrouter.yaml: line 3: invalid YAML: duplicate key 'port'"


def test_self_referencing_yaml_alias_is_an_error(tmp_path: Path) -> None:
    message = error(tmp_path, "server: &loop {host: [*loop]}\n")
    assert message == "fluxrouter.yaml: nested too deeply (an alias inside itself?)"


def test_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    assert error(tmp_path, "- server\n") == (
        "fluxrouter.yaml: top level must be a mapping, got a list"
    )


def _providers(*entries: str) -> str:
    return "providers:\n" + "".join(f"  - {{{entry}}}\n" for entry in entries)


def test_provider_rules(tmp_path: Path) -> None:
    ok = "kind: openai, base_url: 'http://x', models: []"
    assert error(tmp_path, _providers(f"name: a, {ok}", f"name: a, {ok}")) == (
        'fluxrouter.yaml: providers[1].name: duplicate provider name "a"'
    )
    bad_kind = "name: b, kind: azure, base_url: 'http://x', models: []"
    assert error(tmp_path, _providers(f"name: a, {ok}", bad_kind)) == (
        "fluxrouter.yaml: providers[1].kind: "
        'must be one of openai, anthropic, gemini, openai-compatible, got "azure"'
    )
    assert "providers[0].name: must match" in error(tmp_path, _providers(f"name: Open AI, {ok}"))
    ftp = "name: a, kind: gemini, base_url: 'ftp://x', models: []"
    assert error(tmp_path, _providers(ftp)) == (
        'fluxrouter.yaml: providers[0].base_url: must be an http(s) URL, got "ftp://x"'
    )
    zero = f"name: a, {ok}, timeouts: {{connect: 0}}"
    assert "providers[0].timeouts.connect: must be" in error(tmp_path, _providers(zero))


@pytest.mark.parametrize("api_key", [", api_key: sk-upstream-1", ""])
def test_credentials_in_a_base_url_are_refused_without_repeating_them(
    tmp_path: Path, api_key: str
) -> None:
    creds = "name: a, kind: openai, base_url: 'https://svc:hunter2-pw@10.1.2.3:8443/v1', models: []"
    message = error(tmp_path, _providers(creds + api_key))
    assert message.startswith("fluxrouter.yaml: providers[0].base_url: must not hold credentials")
    assert "api_key" in message
    assert "hunter2" not in message
    assert "svc" not in message
    assert "10.1.2.3" not in message


def test_a_malformed_url_is_quoted_without_its_credentials(tmp_path: Path) -> None:
    ftp = "name: a, kind: openai, base_url: 'ftp://svc:hunter2-pw@files.internal/x', models: []"
    message = error(tmp_path, _providers(ftp))
    assert message.endswith('must be an http(s) URL, got "ftp://files.internal/x"')
    redis = error(tmp_path, "redis: {url: 'http://u:hunter2-pw@cache:6379/0'}\n")
    assert "hunter2" not in redis
    assert "redis.url: must be a redis/rediss/unix URL" in redis


def test_model_names_are_unique_within_a_provider(tmp_path: Path) -> None:
    models = "models: [{name: m}, {name: m}]"
    text = _providers(f"name: a, kind: openai, base_url: 'http://x', {models}")
    assert error(tmp_path, text) == (
        "fluxrouter.yaml: providers[0].models[1].name: "
        'duplicate model name "m" within this provider'
    )


def test_logging_rules(tmp_path: Path) -> None:
    assert error(tmp_path, "logging: {level: verbose}\n") == (
        'fluxrouter.yaml: logging.level: must be one of debug, info, warning, error, got "verbose"'
    )
    assert error(tmp_path, "logging: {format: xml}\n") == (
        'fluxrouter.yaml: logging.format: must be one of json, console, got "xml"'
    )


# --- providers, models and prices ------------------------------------------------------------


def test_provider_and_model_defaults(tmp_path: Path) -> None:
    provider = load(tmp_path, PROVIDER, {"OPENAI_API_KEY": "sk-test"}).providers[0]
    assert provider.api_key == "sk-test"
    assert (provider.timeouts.connect, provider.timeouts.first_byte) == (5.0, 60.0)
    assert (provider.timeouts.total, provider.max_connections) == (600.0, 100)
    model = provider.models[0]
    assert model.upstream is None
    assert model.upstream_name == "gpt-4o-mini"
    assert model.max_output_tokens is None


def test_upstream_name_prefers_the_upstream_field(tmp_path: Path) -> None:
    text = PROVIDER.replace("- name: gpt-4o-mini", "- name: speedy\n        upstream: gpt-4o-mini")
    model = load(tmp_path, text, {"OPENAI_API_KEY": "k"}).providers[0].models[0]
    assert (model.name, model.upstream_name) == ("speedy", "gpt-4o-mini")


def test_prices_are_exact_decimals(tmp_path: Path) -> None:
    price = load(tmp_path, PROVIDER, {"OPENAI_API_KEY": "k"}).providers[0].models[0].price
    assert price is not None
    assert isinstance(price.input_per_mtok, Decimal)
    assert price.input_per_mtok == Decimal("0.15")
    assert str(price.input_per_mtok) == "0.15"
    assert price.output_per_mtok == Decimal("0.6")
    assert price.cached_input_per_mtok == Decimal("0.075")


@pytest.mark.parametrize(
    ("amount", "problem"),
    [
        ("0.0000001", "at most 6 decimal places allowed, got 0.0000001"),
        ("'0.1234567'", "at most 6 decimal places allowed, got 0.1234567"),
        ("-1.5", "must not be negative, got -1.5"),
        ("cheap", 'invalid decimal string, got "cheap"'),
    ],
)
def test_bad_prices_are_errors(tmp_path: Path, amount: str, problem: str) -> None:
    text = PROVIDER.replace("input_per_mtok: 0.15", f"input_per_mtok: {amount}")
    message = error(tmp_path, text, {"OPENAI_API_KEY": "k"})
    assert message == f"fluxrouter.yaml: providers[0].models[0].price.input_per_mtok: {problem}"


def test_six_decimal_places_are_allowed(tmp_path: Path) -> None:
    text = PROVIDER.replace("input_per_mtok: 0.15", "input_per_mtok: 0.000001")
    price = load(tmp_path, text, {"OPENAI_API_KEY": "k"}).providers[0].models[0].price
    assert price is not None
    assert price.input_per_mtok == Decimal("0.000001")


TIERED = """\
providers:
  - name: google
    kind: gemini
    base_url: https://generativelanguage.googleapis.com
    models:
      - name: gemini-2.5-pro
        price:
          input_per_mtok: 1.25
          output_per_mtok: 10
          cached_input_per_mtok: 0.125
          reasoning_output_per_mtok: 10
          tiers:
            - above_input_tokens: 200000
              input_per_mtok: 2.5
              output_per_mtok: 15
              cached_input_per_mtok: 0.25
"""


def test_every_kind_of_token_and_tiers_are_priced_from_the_file(tmp_path: Path) -> None:
    price = load(tmp_path, TIERED).providers[0].models[0].price
    assert price is not None
    assert price.reasoning_output_per_mtok == Decimal(10)
    assert price.cache_write_5m_per_mtok is None
    (tier,) = price.tiers
    assert tier.above_input_tokens == 200_000
    assert (tier.input_per_mtok, tier.output_per_mtok) == (Decimal("2.5"), Decimal(15))
    assert tier.cached_input_per_mtok == Decimal("0.25")


@pytest.mark.parametrize(
    ("old", "new", "key", "problem"),
    [
        (
            "cached_input_per_mtok: 0.25",
            "cached_input_per_mtok: 0.1",
            "tiers[0].cached_input_per_mtok",
            "must not be below the rate under this tier (0.1 < 0.125)",
        ),
        (
            "          reasoning_output_per_mtok: 10\n",
            "          reasoning_output_per_mtok: 20\n",
            "tiers[0].reasoning_output_per_mtok",  # unset in the tier: its output rate, 15
            "must not be below the rate under this tier (15 < 20)",
        ),
        (
            "above_input_tokens: 200000",
            "above_input_tokens: -1",
            "tiers[0].above_input_tokens",
            "must be between 0 and 9007199254740991, got -1",
        ),
        (
            "              cached_input_per_mtok: 0.25\n",
            "              cached_input_per_mtok: 0.25\n"
            "            - {above_input_tokens: 200000, input_per_mtok: 3, output_per_mtok: 20}\n",
            "tiers[1].above_input_tokens",
            "must be above the tier before it (200000)",
        ),
        (
            "              cached_input_per_mtok: 0.25\n",
            "              cached_input_per_mtok: -0.25\n",
            "tiers[0].cached_input_per_mtok",
            "must not be negative, got -0.25",
        ),
        (
            "              input_per_mtok: 2.5\n",
            "",
            "tiers[0].input_per_mtok",
            "required key is missing",
        ),
        ("cache_write_5m", "cache_write_5m", "", ""),
    ],
)
def test_bad_tiers_are_errors_naming_the_key(
    tmp_path: Path, old: str, new: str, key: str, problem: str
) -> None:
    if not key:
        text = TIERED.replace("reasoning_output_per_mtok: 10", "cache_write_10m_per_mtok: 1")
        message = error(tmp_path, text)
        assert message == (
            "fluxrouter.yaml: providers[0].models[0].price.cache_write_10m_per_mtok: unknown key"
        )
        return
    assert old in TIERED
    message = error(tmp_path, TIERED.replace(old, new))
    assert message == f"fluxrouter.yaml: providers[0].models[0].price.{key}: {problem}"


# --- secrets never appear in errors ----------------------------------------------------------


def test_secret_values_are_not_echoed(tmp_path: Path) -> None:
    message = error(tmp_path, "admin: {key: 1234567890}\n")
    assert message == "fluxrouter.yaml: admin.key: expected a string, got an integer"
    text = PROVIDER.replace("${OPENAI_API_KEY}", "{sk: sk-live-abcdef}")
    message = error(tmp_path, text)
    assert (
        message == "fluxrouter.yaml: providers[0].api_key: expected a string or null, got a mapping"
    )
    assert "sk-live-abcdef" not in message


# --- properties of the expansion -------------------------------------------------------------

_NAMES = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,15}", fullmatch=True)


@given(st.text().filter(lambda text: "$" not in text))
def test_text_without_dollar_is_unchanged(text: str) -> None:
    assert expand_env(text, {"ANY": "thing"}) == text


@given(_NAMES, st.text())
def test_a_reference_expands_to_the_value_verbatim(name: str, value: str) -> None:
    assert expand_env("${" + name + "}", {name: value}) == value
    assert expand_env("<${" + name + "}>", {name: value}) == f"<{value}>"


@pytest.fixture(scope="module")
def host_from_env(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("expansion")
    write(directory, "server: {host: '${HOST}'}\n")
    return directory


@given(value=st.text())
def test_a_file_reference_loads_the_value_verbatim(host_from_env: Path, value: str) -> None:
    settings, _ = load_settings(None, {"HOST": value}, host_from_env)
    assert settings.server.host == value
