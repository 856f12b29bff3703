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
import urllib.parse
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from kpis.events import Feed
from streams.errors import StreamsError

ENV_PREFIX = "SALESPULSE_"
CONFIG_FILE_VARIABLE = f"{ENV_PREFIX}CONFIG"
MASK = "**********"

KafkaSecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
KafkaSaslMechanism = Literal["SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN"]

# Settings that name a file the engine reads at start-up.
_FILE_SETTINGS = (
    "kafka_ssl_cafile",
    "kafka_ssl_certfile",
    "kafka_ssl_keyfile",
    "redis_ssl_ca_certs",
    "exporter_tls_certfile",
    "exporter_tls_keyfile",
)
# Settings that are unset when empty.
_OPTIONAL_SETTINGS = (
    *_FILE_SETTINGS,
    "kafka_sasl_username",
    "kafka_sasl_password",
    "exporter_basic_auth_username",
    "exporter_basic_auth_password",
)


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
    kafka_security_protocol: KafkaSecurityProtocol = Field(
        "PLAINTEXT",
        description="How the engine talks to Kafka: PLAINTEXT, SSL, "
        "SASL_PLAINTEXT or SASL_SSL.",
    )
    kafka_sasl_mechanism: KafkaSaslMechanism = Field(
        "SCRAM-SHA-256",
        description="SASL mechanism of the SASL protocols: SCRAM-SHA-256, "
        "SCRAM-SHA-512 or PLAIN.",
    )
    kafka_sasl_username: str | None = Field(
        None, description="SASL user name; required by the SASL protocols."
    )
    kafka_sasl_password: SecretStr | None = Field(
        None, description="SASL password; required by the SASL protocols."
    )
    kafka_ssl_cafile: str | None = Field(
        None,
        description="PEM file of the CAs that sign the brokers' certificates "
        "(default: the system's CAs).",
    )
    kafka_ssl_certfile: str | None = Field(
        None, description="PEM client certificate, for brokers that require one."
    )
    kafka_ssl_keyfile: str | None = Field(
        None, description="PEM private key of the client certificate."
    )
    redis_ssl_ca_certs: str | None = Field(
        None,
        description="PEM file of the CAs that sign Redis's certificate, for a "
        "rediss:// URL (default: the system's CAs).",
    )
    exporter_basic_auth_username: str | None = Field(
        None, description="User name /metrics requires (basic auth); none when unset."
    )
    exporter_basic_auth_password: SecretStr | None = Field(
        None, description="Password /metrics requires (basic auth)."
    )
    exporter_tls_certfile: str | None = Field(
        None, description="PEM certificate (chain) that makes /metrics HTTPS."
    )
    exporter_tls_keyfile: str | None = Field(
        None, description="PEM private key of the exporter's certificate."
    )

    @model_validator(mode="after")
    def _name_internal_topics(self) -> Settings:
        # Frozen: the derived names are set the way pydantic sets fields.
        if not self.topic_repartition:
            object.__setattr__(self, "topic_repartition", f"{self.app_id}-repartition")
        if not self.topic_changelog:
            object.__setattr__(self, "topic_changelog", f"{self.app_id}-changelog")
        return self

    @field_validator(*_OPTIONAL_SETTINGS, mode="before")
    @classmethod
    def _unset_when_empty(cls, value: Any) -> Any:
        return None if value == "" else value

    @field_validator(*_FILE_SETTINGS)
    @classmethod
    def _check_file(cls, value: str | None) -> str | None:
        if value is not None and not Path(value).is_file():
            raise ValueError("expected the path of a readable PEM file")
        return value

    @model_validator(mode="after")
    def _check_security(self) -> Settings:
        problems = [
            *_kafka_security_problems(self),
            *_redis_security_problems(self),
            *_exporter_security_problems(self),
        ]
        if problems:
            raise ValueError("; ".join(problems))
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

    def __repr_args__(self) -> Any:
        """Yield the fields a repr shows, the Redis URL's password masked."""
        for name, value in super().__repr_args__():
            yield name, mask_url(value) if name == "redis_url" else value

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


def _kafka_security_problems(settings: Settings) -> list[str]:
    """Return what is missing or contradictory in the Kafka security settings."""
    protocol = settings.kafka_security_protocol
    named = f"{environment_variable('kafka_security_protocol')}={protocol}"
    problems = []
    if protocol.startswith("SASL_"):
        missing = [
            environment_variable(name)
            for name in ("kafka_sasl_username", "kafka_sasl_password")
            if not getattr(settings, name)
        ]
        if missing:
            problems.append(f"{named} needs {' and '.join(missing)}")
    if not protocol.endswith("SSL"):
        given = [
            environment_variable(name)
            for name in ("kafka_ssl_cafile", "kafka_ssl_certfile", "kafka_ssl_keyfile")
            if getattr(settings, name)
        ]
        if given:
            problems.append(
                f"{', '.join(given)} need(s) an SSL protocol (SSL or SASL_SSL), "
                f"not {named}"
            )
    problems += _pair_problems(settings, "kafka_ssl_certfile", "kafka_ssl_keyfile")
    return problems


def _redis_security_problems(settings: Settings) -> list[str]:
    """Return what contradicts itself in the Redis security settings."""
    if settings.redis_ssl_ca_certs and not settings.redis_url.startswith("rediss://"):
        return [
            f"{environment_variable('redis_ssl_ca_certs')} needs a rediss:// "
            f"{environment_variable('redis_url')}"
        ]
    return []


def _exporter_security_problems(settings: Settings) -> list[str]:
    """Return the exporter settings given without their other half."""
    return [
        *_pair_problems(
            settings, "exporter_basic_auth_username", "exporter_basic_auth_password"
        ),
        *_pair_problems(settings, "exporter_tls_certfile", "exporter_tls_keyfile"),
    ]


def _pair_problems(settings: Settings, first: str, second: str) -> list[str]:
    """Return a problem when only one of two settings that go together is set."""
    given = [bool(getattr(settings, first)), bool(getattr(settings, second))]
    if given[0] == given[1]:
        return []
    present, absent = (first, second) if given[0] else (second, first)
    return [
        f"{environment_variable(present)} is set but {environment_variable(absent)} "
        "is not: set both or neither"
    ]


def mask_url(url: str) -> str:
    """Return ``url`` with its password, if any, replaced by a mask."""
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.netloc.rpartition("@")[2]
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{user}:{MASK}@{host}"))


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
        if not field:
            # A problem of several settings: its message names them, and its
            # input is every value, secrets included.
            lines.append(problem["msg"].removeprefix("Value error, "))
            continue
        shown = _shown_input(field, problem.get("input"))
        lines.append(f"{environment_variable(field)}={shown}: {problem['msg']}")
    return "invalid settings:\n  " + "\n  ".join(lines)


def _shown_input(field: str, value: Any) -> str:
    """Return a rejected value as an error message may show it: secrets masked."""
    if field.endswith("_password"):
        return repr(MASK)
    if field == "redis_url" and isinstance(value, str):
        return repr(mask_url(value))
    return repr(value)
