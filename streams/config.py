"""The engine's settings: one validated model, read from the environment and a file.

Every setting has an environment variable, ``SALESPULSE_`` followed by the
field name in capitals (``SALESPULSE_KAFKA_BOOTSTRAP_SERVERS``). A TOML file
named by ``SALESPULSE_CONFIG`` may set the same fields by their lower-case
names; the environment wins over the file, the file over the defaults. A bad
value stops start-up with a :class:`ConfigError` that names the variable, the
value it got and what it accepts.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from kpis.events import Feed
from streams.errors import StreamsError

ENV_PREFIX = "SALESPULSE_"
CONFIG_FILE_VARIABLE = f"{ENV_PREFIX}CONFIG"


class ConfigError(StreamsError):
    """A setting has a value the engine cannot run with."""


class Settings(BaseModel):
    """Everything an operator can set, with the defaults of a local stack."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kafka_bootstrap_servers: str = Field(
        "127.0.0.1:9092", description="Kafka brokers, host:port, comma-separated."
    )
    redis_url: str = Field(
        "redis://127.0.0.1:6379/0", description="Redis holding the reference data."
    )
    app_id: str = Field(
        "salespulse",
        description="Application id: the consumer group and the prefix "
        "of the changelog topics.",
    )
    topic_deals: str = Field("sales.deals", description="Topic of deal events.")
    topic_activities: str = Field(
        "sales.activities", description="Topic of calls, emails, meetings, demos."
    )
    topic_leads: str = Field("sales.leads", description="Topic of lead events.")
    topic_subscriptions: str = Field(
        "billing.subscriptions", description="Topic of subscription events."
    )
    topic_costs: str = Field("finance.costs", description="Topic of cost events.")
    topic_deadletter: str = Field(
        "salespulse.deadletter",
        description="Where every rejected message goes, with its reason.",
    )
    topic_repartition: str = Field(
        "",
        description="Internal topic of events and links on their way to the "
        "partition that owns their entity (default: <app_id>-repartition).",
    )
    topic_changelog: str = Field(
        "",
        description="Internal compacted topic of every entity's state, read "
        "back when a worker takes a partition over (default: "
        "<app_id>-changelog).",
    )
    topic_partitions: int = Field(
        8,
        ge=1,
        le=1024,
        description="Partitions of each input topic the engine creates; the "
        "most workers that can share the load.",
    )
    max_event_bytes: int = Field(
        64 * 1024,
        ge=1024,
        description="Largest accepted event; a larger message is rejected as "
        "oversized.",
    )
    exporter_host: str = Field(
        "127.0.0.1", description="Address the Prometheus exporter listens on."
    )
    exporter_port: int = Field(
        9464, ge=0, le=65535, description="Port of /metrics (0 picks a free one)."
    )
    redis_prefix: str = Field(
        "salespulse:", description="Prefix of the reference data's keys in Redis."
    )
    late_event_horizon_days: int = Field(
        0,
        ge=0,
        description="How far back, in days before its arrival, an event may "
        "restate a period; an older one is dead-lettered as too_late. 0 keeps "
        "every period open.",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="Log level of the worker."
    )

    @model_validator(mode="after")
    def _name_internal_topics(self) -> Settings:
        # Frozen: the derived names are set the way pydantic sets fields.
        if not self.topic_repartition:
            object.__setattr__(self, "topic_repartition", f"{self.app_id}-repartition")
        if not self.topic_changelog:
            object.__setattr__(self, "topic_changelog", f"{self.app_id}-changelog")
        return self

    @field_validator("kafka_bootstrap_servers")
    @classmethod
    def _check_servers(cls, value: str) -> str:
        for server in value.split(","):
            host, _, port = server.strip().rpartition(":")
            if not host or not port.isdigit():
                raise ValueError("expected host:port[,host:port...]")
        return value

    @field_validator("redis_url")
    @classmethod
    def _check_redis_url(cls, value: str) -> str:
        if not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("expected a redis://, rediss:// or unix:// URL")
        return value

    def topic_for(self, feed: Feed) -> str:
        """Return the configured topic name of ``feed``."""
        return {
            Feed.DEALS: self.topic_deals,
            Feed.ACTIVITIES: self.topic_activities,
            Feed.LEADS: self.topic_leads,
            Feed.SUBSCRIPTIONS: self.topic_subscriptions,
            Feed.COSTS: self.topic_costs,
        }[feed]

    def input_topics(self) -> dict[str, Feed]:
        """Map each input topic's name to the feed it carries."""
        return {self.topic_for(feed): feed for feed in Feed}


def environment_variable(field: str) -> str:
    """Return the environment variable that sets ``field``."""
    return f"{ENV_PREFIX}{field.upper()}"


def load_settings(environ: dict[str, str] | None = None, **overrides: Any) -> Settings:
    """Read, validate and return the settings.

    Args:
        environ: the environment to read; the process's own when left out.
        overrides: values that win over the environment and the file, for
            command-line options.
    """
    environ = dict(os.environ if environ is None else environ)
    values = _read_file(environ.get(CONFIG_FILE_VARIABLE))
    for name in Settings.model_fields:
        variable = environment_variable(name)
        if variable in environ:
            values[name] = environ[variable]
    values.update(overrides)
    try:
        return Settings.model_validate(values)
    except ValidationError as error:
        raise ConfigError(_describe(error)) from error


def _read_file(path: str | None) -> dict[str, Any]:
    if not path:
        return {}
    try:
        with Path(path).open("rb") as file:
            values = tomllib.load(file)
    except OSError as error:
        raise ConfigError(
            f"{CONFIG_FILE_VARIABLE}={path}: cannot read the file ({error})"
        ) from error
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(
            f"{CONFIG_FILE_VARIABLE}={path}: not valid TOML ({error})"
        ) from error
    unknown = sorted(set(values) - set(Settings.model_fields))
    if unknown:
        raise ConfigError(
            f"{CONFIG_FILE_VARIABLE}={path}: unknown setting(s) {', '.join(unknown)}"
        )
    return values


def _describe(error: ValidationError) -> str:
    lines = []
    for problem in error.errors():
        field = ".".join(str(part) for part in problem["loc"])
        lines.append(
            f"{environment_variable(field)}={problem.get('input')!r}: {problem['msg']}"
        )
    return "invalid settings:\n  " + "\n  ".join(lines)
