"""Turn the Kafka security settings into the options of aiokafka's clients.

Every Kafka client the engine builds (consumer, producer, admin client) takes
the same options, from :func:`kafka_client_options`. The password reaches
aiokafka only: this module never logs it, and :class:`KafkaSecurity`'s repr
leaves it out.

Example::

    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        **kafka_client_options(settings),
    )
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from typing import Any

from aiokafka.helpers import create_ssl_context

from streams.config import Settings
from streams.errors import StreamsError


class KafkaSecurityError(StreamsError):
    """A certificate or key of the Kafka settings cannot be loaded."""


@dataclass(frozen=True)
class KafkaSecurity:
    """How a client authenticates to Kafka and encrypts its connections.

    Attributes:
        protocol: ``PLAINTEXT``, ``SSL``, ``SASL_PLAINTEXT`` or ``SASL_SSL``.
        sasl_mechanism: ``SCRAM-SHA-256``, ``SCRAM-SHA-512`` or ``PLAIN``.
        username: the SASL user, with a ``SASL_*`` protocol.
        password: the SASL password; left out of the repr.
        cafile: PEM file of the CAs that sign the brokers' certificates; the
            system's CAs when None.
        certfile: PEM client certificate, for brokers that require one.
        keyfile: PEM private key of ``certfile``.
    """

    protocol: str = "PLAINTEXT"
    sasl_mechanism: str = "SCRAM-SHA-256"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    cafile: str | None = None
    certfile: str | None = None
    keyfile: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> KafkaSecurity:
        """Return the security the settings ask for."""
        password = settings.kafka_sasl_password
        return cls(
            protocol=settings.kafka_security_protocol,
            sasl_mechanism=settings.kafka_sasl_mechanism,
            username=settings.kafka_sasl_username,
            password=None if password is None else password.get_secret_value(),
            cafile=settings.kafka_ssl_cafile,
            certfile=settings.kafka_ssl_certfile,
            keyfile=settings.kafka_ssl_keyfile,
        )

    def client_options(self) -> dict[str, Any]:
        """Return the keyword arguments of an aiokafka consumer, producer or admin.

        Raises:
            KafkaSecurityError: a certificate or key file does not load.
        """
        options: dict[str, Any] = {"security_protocol": self.protocol}
        if self.protocol.endswith("SSL"):
            options["ssl_context"] = self.ssl_context()
        if self.protocol.startswith("SASL_"):
            options["sasl_mechanism"] = self.sasl_mechanism
            options["sasl_plain_username"] = self.username
            options["sasl_plain_password"] = self.password
        return options

    def ssl_context(self) -> ssl.SSLContext:
        """Return a context that checks the brokers' certificates and host names."""
        try:
            context: ssl.SSLContext = create_ssl_context(
                cafile=self.cafile, certfile=self.certfile, keyfile=self.keyfile
            )
        except (OSError, ssl.SSLError) as error:
            files = ", ".join(
                path
                for path in (self.cafile, self.certfile, self.keyfile)
                if path is not None
            )
            raise KafkaSecurityError(
                f"cannot load the Kafka TLS files ({files or 'system CAs'}): {error}"
            ) from error
        return context


def kafka_client_options(settings: Settings) -> dict[str, Any]:
    """Return the security options of every Kafka client the engine builds."""
    return KafkaSecurity.from_settings(settings).client_options()
