"""The settings model: defaults, sources, precedence and clear errors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kpis.events import Feed
from streams.config import (
    ConfigError,
    Settings,
    environment_variable,
    load_settings,
)

README = Path(__file__).resolve().parents[2] / "README.md"


def test_defaults_run_a_local_stack() -> None:
    settings = load_settings({})
    assert settings.kafka_bootstrap_servers == "127.0.0.1:9092"
    assert settings.input_topics() == {
        "sales.deals": Feed.DEALS,
        "sales.activities": Feed.ACTIVITIES,
        "sales.leads": Feed.LEADS,
        "billing.subscriptions": Feed.SUBSCRIPTIONS,
        "finance.costs": Feed.COSTS,
    }


def test_environment_wins_over_file_and_file_over_defaults(tmp_path: Path) -> None:
    file = tmp_path / "salespulse.toml"
    file.write_text('topic_partitions = 4\ntopic_deals = "crm.deals"\n')
    settings = load_settings(
        {
            "SALESPULSE_CONFIG": str(file),
            "SALESPULSE_TOPIC_DEALS": "hubspot.deals",
        }
    )
    assert settings.topic_partitions == 4
    assert settings.topic_for(Feed.DEALS) == "hubspot.deals"


def test_internal_topics_are_named_after_the_app_id() -> None:
    settings = load_settings({"SALESPULSE_APP_ID": "acme"})
    assert settings.topic_repartition == "acme-repartition"
    assert settings.topic_changelog == "acme-changelog"
    named = load_settings({"SALESPULSE_TOPIC_CHANGELOG": "state"})
    assert named.topic_changelog == "state"


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("SALESPULSE_TOPIC_PARTITIONS", "0", "greater than or equal to 1"),
        ("SALESPULSE_TOPIC_PARTITIONS", "eight", "valid integer"),
        ("SALESPULSE_KAFKA_BOOTSTRAP_SERVERS", "localhost", "host:port"),
        ("SALESPULSE_REDIS_URL", "127.0.0.1:6379", "redis://"),
        ("SALESPULSE_LOG_LEVEL", "LOUD", "'DEBUG'"),
        ("SALESPULSE_LATE_EVENT_HORIZON_DAYS", "-1", "greater than or equal to 0"),
    ],
)
def test_a_bad_value_names_the_variable_the_value_and_what_is_accepted(
    variable: str, value: str, expected: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings({variable: value})
    message = str(raised.value)
    assert f"{variable}={value!r}" in message
    assert expected in message


def test_an_unknown_setting_in_the_file_is_named(tmp_path: Path) -> None:
    file = tmp_path / "salespulse.toml"
    file.write_text("kafka_bootstrap = 'x:1'\n")
    with pytest.raises(ConfigError, match=r"unknown setting.*kafka_bootstrap"):
        load_settings({"SALESPULSE_CONFIG": str(file)})


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(ConfigError, match=re.escape(f"SALESPULSE_CONFIG={missing}")):
        load_settings({"SALESPULSE_CONFIG": str(missing)})


def test_the_readme_documents_every_setting_with_its_default() -> None:
    readme = README.read_text()
    for name, field in Settings.model_fields.items():
        # An empty default is derived from another setting; the README says how.
        default = f"`{field.default}` |" if field.default != "" else "`<"
        row = f"| `{environment_variable(name)}` | {default}"
        assert row in readme, row
