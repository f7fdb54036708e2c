"""HTTPS for ``memosys serve`` and ``memosys mcp`` (``--tls-cert FILE --tls-key FILE``):
its files.

The certificate and key are loaded here, before the server opens the store or
binds its port, so that a wrong file is one clear error instead of a traceback
(or, for an encrypted key, a passphrase prompt) after startup. The port that
serves with them is :mod:`.https_port`.
"""

from __future__ import annotations

import datetime
import re
import ssl
from collections.abc import Callable
from pathlib import Path

from memosys.core.errors import ConfigurationError


def tls_files(cert: Path | None, key: Path | None) -> tuple[Path, Path] | None:
    """``--tls-cert`` and ``--tls-key`` given together (None without TLS);
    ConfigurationError naming the fix."""
    if cert is None and key is None:
        return None
    if cert is None or key is None:
        given, missing = ("--tls-cert", "--tls-key") if key is None else ("--tls-key", "--tls-cert")
        raise ConfigurationError(f"{given} needs {missing} too: give both (or neither)")
    return cert, key


def tls_context(cert: Path, key: Path) -> ssl.SSLContext:
    """The server's TLS context of a PEM certificate (chain) and its private key;
    ConfigurationError naming the fix."""
    _check_readable("--tls-cert", cert)
    _check_readable("--tls-key", key)
    try:  # on a context of its own: the server's must not trust its certificate as a CA
        ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_verify_locations(cafile=cert)
    except ssl.SSLError as exc:
        raise ConfigurationError(
            f"--tls-cert {cert} holds no PEM certificate; give the server's certificate "
            "in PEM ('-----BEGIN CERTIFICATE-----')", detail={"tls_cert": str(cert)},
        ) from exc
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
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
    return context


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


def tls_warnings(host: str, tls: tuple[Path, Path] | None) -> list[str]:
    """What a server listening on ``host`` with these TLS files (or none) should warn of
    at its start: a certificate out of date, or API keys sent in clear text off this
    machine."""
    if tls is not None:
        return [warning] if (warning := validity_warning(tls[0])) else []
    if host in ("127.0.0.1", "localhost", "::1"):
        return []
    return ["API keys cross the network in clear text; serve HTTPS (--tls-cert, --tls-key) "
            "or put a TLS proxy in front"]


def validity_warning(cert: Path, now: datetime.datetime | None = None) -> str | None:
    """A warning if the first certificate of ``cert`` (the server's; a checked PEM file)
    has expired or is not valid yet: the server would start, and every client refuse
    it. None when it is valid now, or its dates cannot be read."""
    found = re.search(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----",
                      cert.read_bytes(), re.DOTALL)
    if found is None:
        return None
    try:
        not_before, not_after = _validity(ssl.PEM_cert_to_DER_cert(found[0].decode()))
    except (ValueError, IndexError):
        return None
    now = now or datetime.datetime.now(datetime.UTC)
    if now > not_after:
        problem = f"expired on {not_after:%Y-%m-%d %H:%M} UTC"
    elif now < not_before:
        problem = f"is not valid until {not_before:%Y-%m-%d %H:%M} UTC"
    else:
        return None
    return (f"--tls-cert {cert} {problem}: clients will refuse it; give a current "
            "certificate (and check this machine's clock)")


def _validity(der: bytes) -> tuple[datetime.datetime, datetime.datetime]:
    """notBefore and notAfter of a DER certificate (ValueError if it is not one)."""
    certificate, _ = _tlv(der, 0, 0x30)
    tbs, _ = _tlv(der, certificate, 0x30)
    at = tbs
    if der[at] == 0xA0:  # [0] version
        at = _tlv(der, at, 0xA0)[1]
    for tag in (0x02, 0x30, 0x30):  # serial number, signature algorithm, issuer
        at = _tlv(der, at, tag)[1]
    at, _ = _tlv(der, at, 0x30)  # validity
    times = []
    for _ in range(2):
        start, end = _tlv(der, at, der[at])
        times.append(_time(der[at], der[start:end].decode("ascii")))
        at = end
    return times[0], times[1]


def _tlv(der: bytes, at: int, tag: int) -> tuple[int, int]:
    """Where the content of the DER element at ``at`` (tag ``tag``) starts and ends."""
    if der[at] != tag:
        raise ValueError(f"DER tag {der[at]:#x} where {tag:#x} was expected")
    length, at = der[at + 1], at + 2
    if length & 0x80:
        count = length & 0x7F
        length, at = int.from_bytes(der[at:at + count], "big"), at + count
    return at, at + length


def _time(tag: int, text: str) -> datetime.datetime:
    if tag == 0x17:  # UTCTime: YYMMDDHHMMSSZ, years 1950 to 2049
        parsed = datetime.datetime.strptime(text, "%y%m%d%H%M%SZ")
        if parsed.year >= 2050:
            parsed = parsed.replace(year=parsed.year - 100)
    elif tag == 0x18:  # GeneralizedTime: YYYYMMDDHHMMSSZ
        parsed = datetime.datetime.strptime(text, "%Y%m%d%H%M%SZ")
    else:
        raise ValueError(f"DER tag {tag:#x} is no time")
    return parsed.replace(tzinfo=datetime.UTC)
