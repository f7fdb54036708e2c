"""Self-signed certificates for tests of ``memosys serve --tls-cert/--tls-key``."""

from __future__ import annotations

import datetime
import importlib.util
import ipaddress
import shutil
import subprocess
from pathlib import Path

import pytest


def self_signed(
    folder: Path, name: str = "server", valid_days: tuple[float, float] | None = None
) -> tuple[Path, Path]:
    """A new self-signed certificate for ``localhost`` and ``127.0.0.1`` and its key,
    as ``folder/NAME.crt`` and ``folder/NAME.key`` (PEM); made with the ``cryptography``
    package, else the ``openssl`` command, else the test is skipped. ``valid_days``:
    from and until when it is valid, in days from now (the cryptography package only;
    default: from 5 minutes ago for 2 days)."""
    cert, key = folder / f"{name}.crt", folder / f"{name}.key"
    if importlib.util.find_spec("cryptography") is not None:
        _with_cryptography(cert, key, valid_days)
    elif valid_days is not None:
        pytest.skip("a certificate with given dates needs the cryptography package")
    elif shutil.which("openssl") is not None:
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
             "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
             "-keyout", str(key), "-out", str(cert)],
            check=True, capture_output=True,
        )
    else:
        pytest.skip("making a test certificate needs the cryptography package or openssl")
    return cert, key


def _with_cryptography(
    cert_path: Path, key_path: Path, valid_days: tuple[float, float] | None
) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now + datetime.timedelta(days=valid_days[0]) if valid_days
                          else now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=valid_days[1] if valid_days else 2))
        .add_extension(x509.SubjectAlternativeName(
            [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
        ), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public),
                       critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ))


def rsa_key(out: Path) -> Path:
    """A new RSA private key as ``out`` (PEM), for a certificate of another key type."""
    if importlib.util.find_spec("cryptography") is not None:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        out.write_bytes(key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ))
    elif shutil.which("openssl") is not None:
        subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-out", str(out)],
                       check=True, capture_output=True)
    else:
        pytest.skip("making a test key needs the cryptography package or openssl")
    return out


def encrypted(key: Path, out: Path) -> Path:
    """``key`` encrypted with the passphrase ``secret``, as ``out`` (PEM)."""
    if importlib.util.find_spec("cryptography") is not None:
        from cryptography.hazmat.primitives import serialization

        plain = serialization.load_pem_private_key(key.read_bytes(), password=None)
        out.write_bytes(plain.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"secret"),
        ))
    elif shutil.which("openssl") is not None:
        subprocess.run(["openssl", "pkey", "-in", str(key), "-aes256", "-passout", "pass:secret",
                        "-out", str(out)], check=True, capture_output=True)
    else:
        pytest.skip("encrypting a test key needs the cryptography package or openssl")
    return out
