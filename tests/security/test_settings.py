"""The security settings: what they require together, and what they never show."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
import yaml

from deploy.monitoring import write_prometheus_config
from streams.config import ConfigError, load_settings, mask_url
from streams.exporter import BasicAuth
from streams.kafka_security import KafkaSecurity, KafkaSecurityError

SECRET = "s3cret-never-shown"


@pytest.fixture
def pem(tmp_path: Path) -> str:
    """Return the path of a file that exists (its content is not read here)."""
    path = tmp_path / "some.pem"
    path.write_text("not read by the settings\n")
    return str(path)


def test_the_defaults_are_plaintext_without_credentials() -> None:
    settings = load_settings({})
    assert settings.kafka_security_protocol == "PLAINTEXT"
    assert settings.kafka_sasl_password is None
    assert KafkaSecurity.from_settings(settings).client_options() == {
        "security_protocol": "PLAINTEXT"
    }


def test_sasl_without_username_and_password_names_both() -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings({"SALESPULSE_KAFKA_SECURITY_PROTOCOL": "SASL_SSL"})
    message = str(raised.value)
    assert "SALESPULSE_KAFKA_SECURITY_PROTOCOL=SASL_SSL needs" in message
    assert "SALESPULSE_KAFKA_SASL_USERNAME and SALESPULSE_KAFKA_SASL_PASSWORD" in (
        message
    )


def test_sasl_without_username_does_not_show_the_password() -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(
            {
                "SALESPULSE_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
                "SALESPULSE_KAFKA_SASL_PASSWORD": SECRET,
            }
        )
    assert "needs SALESPULSE_KAFKA_SASL_USERNAME" in str(raised.value)
    assert SECRET not in str(raised.value)


def test_an_unknown_protocol_or_mechanism_is_refused() -> None:
    with pytest.raises(ConfigError, match="SALESPULSE_KAFKA_SECURITY_PROTOCOL='TLS'"):
        load_settings({"SALESPULSE_KAFKA_SECURITY_PROTOCOL": "TLS"})
    with pytest.raises(ConfigError, match="SALESPULSE_KAFKA_SASL_MECHANISM='GSSAPI'"):
        load_settings({"SALESPULSE_KAFKA_SASL_MECHANISM": "GSSAPI"})


def test_tls_files_need_an_ssl_protocol(pem: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings({"SALESPULSE_KAFKA_SSL_CAFILE": pem})
    assert "SALESPULSE_KAFKA_SSL_CAFILE need(s) an SSL protocol" in str(raised.value)
    assert "not SALESPULSE_KAFKA_SECURITY_PROTOCOL=PLAINTEXT" in str(raised.value)


def test_a_key_without_its_certificate_is_refused(pem: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(
            {
                "SALESPULSE_KAFKA_SECURITY_PROTOCOL": "SSL",
                "SALESPULSE_KAFKA_SSL_KEYFILE": pem,
            }
        )
    assert (
        "SALESPULSE_KAFKA_SSL_KEYFILE is set but SALESPULSE_KAFKA_SSL_CERTFILE is not"
        in str(raised.value)
    )


def test_an_exporter_certificate_without_its_key_is_refused(pem: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings({"SALESPULSE_EXPORTER_TLS_CERTFILE": pem})
    assert (
        "SALESPULSE_EXPORTER_TLS_CERTFILE is set but SALESPULSE_EXPORTER_TLS_KEYFILE"
        " is not" in str(raised.value)
    )


def test_an_exporter_password_without_a_user_is_refused_unshown() -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings({"SALESPULSE_EXPORTER_BASIC_AUTH_PASSWORD": SECRET})
    assert "SALESPULSE_EXPORTER_BASIC_AUTH_USERNAME is not" in str(raised.value)
    assert SECRET not in str(raised.value)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "absent.pem"
    with pytest.raises(ConfigError) as raised:
        load_settings(
            {
                "SALESPULSE_KAFKA_SECURITY_PROTOCOL": "SSL",
                "SALESPULSE_KAFKA_SSL_CAFILE": str(missing),
            }
        )
    assert f"SALESPULSE_KAFKA_SSL_CAFILE='{missing}'" in str(raised.value)
    assert "readable PEM file" in str(raised.value)


def test_a_redis_ca_needs_a_rediss_url(pem: str) -> None:
    with pytest.raises(ConfigError, match="needs a rediss:// SALESPULSE_REDIS_URL"):
        load_settings(
            {
                "SALESPULSE_REDIS_SSL_CA_CERTS": pem,
                "SALESPULSE_REDIS_URL": "redis://127.0.0.1:6379/0",
            }
        )


def test_an_empty_variable_leaves_a_setting_unset() -> None:
    settings = load_settings({"SALESPULSE_KAFKA_SSL_CAFILE": ""})
    assert settings.kafka_ssl_cafile is None


def test_the_redis_password_is_masked_in_errors_and_repr() -> None:
    url = f"rediss://salespulse:{SECRET}@redis.example:6380/0"
    assert mask_url(url) == "rediss://salespulse:**********@redis.example:6380/0"
    assert mask_url("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"
    settings = load_settings({"SALESPULSE_REDIS_URL": url})
    assert SECRET not in repr(settings)
    assert settings.redis_url == url
    with pytest.raises(ConfigError) as raised:
        load_settings({"SALESPULSE_REDIS_URL": f"http://u:{SECRET}@host"})
    assert "SALESPULSE_REDIS_URL='http://u:**********@host'" in str(raised.value)


def test_secrets_stay_out_of_reprs() -> None:
    settings = load_settings(
        {
            "SALESPULSE_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
            "SALESPULSE_KAFKA_SASL_USERNAME": "salespulse",
            "SALESPULSE_KAFKA_SASL_PASSWORD": SECRET,
        }
    )
    security = KafkaSecurity.from_settings(settings)
    assert SECRET not in repr(settings)
    assert SECRET not in repr(security)
    assert SECRET not in repr(BasicAuth("prometheus", SECRET))
    assert security.client_options() == {
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "SCRAM-SHA-256",
        "sasl_plain_username": "salespulse",
        "sasl_plain_password": SECRET,
    }


def test_a_certificate_that_does_not_load_is_a_security_error(pem: str) -> None:
    security = KafkaSecurity(protocol="SSL", cafile=pem)
    with pytest.raises(KafkaSecurityError, match=r"cannot load the Kafka TLS files"):
        security.client_options()


def test_basic_auth_accepts_only_the_exact_credentials() -> None:
    auth = BasicAuth("prometheus", SECRET)
    right = "Basic " + _b64(f"prometheus:{SECRET}")
    assert auth.accepts(right)
    assert not auth.accepts(None)
    assert not auth.accepts("Basic " + _b64("prometheus:wrong"))
    assert not auth.accepts("Basic " + _b64(f"other:{SECRET}"))
    assert not auth.accepts("Bearer " + _b64(f"prometheus:{SECRET}"))
    assert not auth.accepts("Basic not-base64!")


def test_the_scrape_config_carries_basic_auth_and_tls(tmp_path: Path) -> None:
    path = tmp_path / "prometheus.yml"
    write_prometheus_config(
        path,
        scrape_targets=["127.0.0.1:9464"],
        scheme="https",
        basic_auth=("prometheus", SECRET),
        tls_ca_file=tmp_path / "ca.pem",
    )
    scrape = yaml.safe_load(path.read_text())["scrape_configs"][0]
    assert scrape["scheme"] == "https"
    assert scrape["basic_auth"] == {"username": "prometheus", "password": SECRET}
    assert scrape["tls_config"] == {"ca_file": str(tmp_path / "ca.pem")}
    assert path.stat().st_mode & 0o077 == 0


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()
