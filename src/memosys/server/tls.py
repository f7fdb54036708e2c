"""HTTPS for ``memosys serve --tls-cert FILE --tls-key FILE``.

The certificate and key are loaded here, before the server opens the store or
binds its port, so that a wrong file is one clear error instead of a traceback
from uvicorn (or, for an encrypted key, a passphrase prompt) after startup.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from pathlib import Path

from memosys.core.errors import ConfigurationError


def tls_options(cert: Path | None, key: Path | None) -> dict[str, str]:
    """uvicorn's ``ssl_certfile``/``ssl_keyfile`` for a PEM certificate (chain) and its
    private key, once checked (none without TLS); ConfigurationError naming the fix."""
    if cert is None and key is None:
        return {}
    if cert is None or key is None:
        given, missing = ("--tls-cert", "--tls-key") if key is None else ("--tls-key", "--tls-cert")
        raise ConfigurationError(f"{given} needs {missing} too: give both (or neither)")
    _check_readable("--tls-cert", cert)
    _check_readable("--tls-key", key)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_verify_locations(cafile=cert)
    except ssl.SSLError as exc:
        raise ConfigurationError(
            f"--tls-cert {cert} holds no PEM certificate; give the server's certificate "
            "in PEM ('-----BEGIN CERTIFICATE-----')", detail={"tls_cert": str(cert)},
        ) from exc
    try:
        context.load_cert_chain(cert, key, password=_refuse_encrypted(key))
    except ssl.SSLError as exc:
        # a key of another type (an EC key for an RSA certificate) leaves the
        # certificate without a key: NO_CERTIFICATE_ASSIGNED
        if exc.reason in ("KEY_VALUES_MISMATCH", "NO_CERTIFICATE_ASSIGNED"):
            problem = f"does not match --tls-cert {cert}; give the key the certificate was made for"
        else:
            problem = ("is not a PEM private key; give the certificate's key in PEM "
                       "('-----BEGIN PRIVATE KEY-----')")
        raise ConfigurationError(f"--tls-key {key} {problem}",
                                 detail={"tls_cert": str(cert), "tls_key": str(key)}) from exc
    return {"ssl_certfile": str(cert), "ssl_keyfile": str(key)}


def _check_readable(option: str, path: Path) -> None:
    try:
        with path.open("rb"):
            pass
    except OSError as exc:
        raise ConfigurationError(
            f"cannot read {option} {path}: {exc.strerror}; give the path of a readable PEM file",
            detail={option.strip("-").replace("-", "_"): str(path)},
        ) from exc


def _refuse_encrypted(key: Path) -> Callable[[], str]:
    """The passphrase callback: an encrypted key is refused (OpenSSL would otherwise
    prompt for the passphrase on the terminal)."""

    def password() -> str:
        raise ConfigurationError(
            f"--tls-key {key} is encrypted; give it without a passphrase "
            f"(openssl pkey -in {key} -out plain.key)", detail={"tls_key": str(key)},
        )

    return password
