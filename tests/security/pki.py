"""A throw-away certificate authority and server certificate, made with openssl."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

DAYS = "2"


@dataclass(frozen=True)
class Pki:
    """A CA and a certificate it signed for 127.0.0.1 and localhost."""

    cafile: Path
    certfile: Path
    keyfile: Path


def _openssl(*arguments: str, folder: Path) -> None:
    subprocess.run(
        ["openssl", *arguments], cwd=folder, check=True, capture_output=True, timeout=60
    )


def make_pki(folder: Path) -> Pki:
    """Write a CA and a server certificate (RSA, PKCS#8 keys) into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    _openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes",
        "-keyout", "ca.key", "-out", "ca.pem", "-days", DAYS,
        "-subj", "/CN=SalesPulse test CA",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        folder=folder,
    )  # fmt: skip
    _openssl(
        "req", "-newkey", "rsa:2048", "-nodes",
        "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1",
        folder=folder,
    )  # fmt: skip
    (folder / "server.ext").write_text(
        "basicConstraints=CA:FALSE\n"
        "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
        "extendedKeyUsage=serverAuth,clientAuth\n"
    )
    _openssl(
        "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "server.pem", "-days", DAYS,
        "-extfile", "server.ext",
        folder=folder,
    )  # fmt: skip
    return Pki(folder / "ca.pem", folder / "server.pem", folder / "server.key")
