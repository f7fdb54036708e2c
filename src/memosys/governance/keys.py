"""API keys: ``msk_<random>`` secrets of which only a salted hash is stored.

A key is 32 random bytes (URL-safe base64) behind the ``msk_`` marker. Its
first characters form a non-secret *prefix* that finds the stored row and
identifies the key in listings. The stored hash is sha256 over a per-key
salt and the key: the secret is high-entropy, so a slow password hash would
add latency to every request without adding strength. Comparison is
constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from memosys.governance.models import StoredKey

KEY_MARKER = "msk_"
SECRET_BYTES = 32
PREFIX_CHARS = 8  # random characters of the key kept in clear as its prefix
_MAX_KEY_CHARS = 200


def new_api_key() -> str:
    """A fresh random API key."""
    return KEY_MARKER + secrets.token_urlsafe(SECRET_BYTES)


def new_salt() -> str:
    """A fresh random salt, as hex."""
    return secrets.token_hex(16)


def key_prefix(api_key: str) -> str:
    """The non-secret start of a key that finds its row: ``msk_`` and 8 characters."""
    return api_key[: len(KEY_MARKER) + PREFIX_CHARS]


def hash_key(api_key: str, salt: str) -> str:
    """The salted sha256 of a key, as hex."""
    return hashlib.sha256(bytes.fromhex(salt) + api_key.encode("utf-8")).hexdigest()


def looks_like_key(value: object) -> bool:
    """Whether ``value`` has the shape of a memosys API key (cheap check before any lookup)."""
    return (
        isinstance(value, str)
        and value.startswith(KEY_MARKER)
        and len(KEY_MARKER) + PREFIX_CHARS < len(value) <= _MAX_KEY_CHARS
        and value.isascii()
        and value.isprintable()
    )


def key_matches(api_key: str, stored: StoredKey) -> bool:
    """Whether ``api_key`` is the key whose hash is stored (constant-time)."""
    return hmac.compare_digest(hash_key(api_key, stored.salt), stored.key_hash)
