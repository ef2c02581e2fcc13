"""Paytm checksums, compatible with Paytm's published ``paytmchecksum`` package.

The algorithm: the signed string is either the exact JSON body (JSON APIs) or,
for form parameters, the values sorted by key and joined with ``|`` (None and
"null" become "", ``CHECKSUMHASH`` is left out). Append ``|`` and a 4-character
salt, take SHA-256 hex, append the salt again, encrypt with AES-128/192/256-CBC
(key = the merchant key's bytes, IV ``@@@@&&&&####$$$$``, PKCS#7), base64.
A verifier decrypts, reads the salt from the last 4 characters and recomputes.

The salt source is injectable so tests and the simulator can be deterministic.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import os
import string
from collections.abc import Callable, Mapping
from typing import Any

from Crypto.Cipher import AES

from payments.gateways.errors import ChecksumError

IV = b"@@@@&&&&####$$$$"
SALT_ALPHABET = string.ascii_uppercase + string.digits + string.ascii_lowercase
SALT_LENGTH = 4
CHECKSUM_FIELD = "CHECKSUMHASH"

SaltSource = Callable[[], str]


def random_salt() -> str:
    """Four characters from Paytm's salt alphabet, from the OS's CSPRNG.

    ``byte % 62`` is very slightly biased; a salt only has to vary, and this
    is several times cheaper than four ``secrets.choice`` calls.
    """
    return "".join(SALT_ALPHABET[b % len(SALT_ALPHABET)] for b in os.urandom(SALT_LENGTH))


def params_string(params: Mapping[str, str | None]) -> str:
    """The string Paytm signs for form parameters."""
    parts: list[str] = []
    for key in sorted(params):
        if key == CHECKSUM_FIELD:
            continue
        value = params[key]
        parts.append("" if value is None or value.lower() == "null" else str(value))
    return "|".join(parts)


@functools.lru_cache(maxsize=1024)
def _block_cipher(key: str) -> Any:
    """A raw AES block cipher per merchant key, built once.

    Verification does CBC decryption by hand on top of it: pycryptodome's CBC
    objects carry chaining state and cannot be reused, building one costs more
    than the hash, and ECB objects are stateless and safe to share.
    """
    key_bytes = key.encode("utf-8")
    if len(key_bytes) not in (16, 24, 32):
        raise ChecksumError("Paytm merchant key must be 16, 24 or 32 bytes")
    return AES.new(key_bytes, AES.MODE_ECB)


def _xor(a: bytes, b: bytes) -> bytes:
    return (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")).to_bytes(len(a), "big")


def _hash(text: str, salt: str) -> str:
    return hashlib.sha256(f"{text}|{salt}".encode()).hexdigest() + salt


def _encrypt(plain: str, key: str) -> str:
    _block_cipher(key)  # validates the key length once per key
    data = plain.encode("utf-8")
    pad = 16 - len(data) % 16
    data += bytes([pad]) * pad
    # Encryption chains block to block, so a fresh CBC object (one native
    # call) beats five calls on the shared block cipher.
    encrypted: bytes = AES.new(key.encode("utf-8"), AES.MODE_CBC, IV).encrypt(data)
    return base64.b64encode(encrypted).decode("ascii")


def _decrypt(checksum: str, key: str) -> str:
    cipher = _block_cipher(key)
    try:
        raw = base64.b64decode(checksum, validate=True)
    except (binascii.Error, ValueError):
        raise ChecksumError("checksum is not base64") from None
    if not raw or len(raw) % 16:
        raise ChecksumError("checksum has a bad length")
    # CBC decryption: every block at once, then XOR with the previous ciphertext.
    plain = _xor(cipher.decrypt(raw), IV + raw[:-16])
    pad = plain[-1]
    if not 1 <= pad <= 16 or plain[-pad:] != bytes([pad]) * pad:
        raise ChecksumError("checksum padding is invalid")
    try:
        return plain[:-pad].decode("ascii")
    except UnicodeDecodeError:
        raise ChecksumError("checksum does not decrypt to text") from None


def generate_for_string(text: str, key: str, salt: SaltSource = random_salt) -> str:
    """Checksum of an exact string (a JSON body as sent on the wire)."""
    s = salt()
    if len(s) != SALT_LENGTH:
        raise ChecksumError("salt must be 4 characters")
    return _encrypt(_hash(text, s), key)


def verify_string(text: str, key: str, checksum: str) -> bool:
    """True when ``checksum`` was made for ``text`` with ``key``.

    A malformed checksum (or one made with another key, which decrypts to
    garbage) is simply ``False``: the caller answers "checksum invalid".
    """
    try:
        expected = _decrypt(checksum, key)
    except ChecksumError:
        return False
    if len(expected) < SALT_LENGTH:
        return False
    salt = expected[-SALT_LENGTH:]
    return hmac.compare_digest(expected, _hash(text, salt))


def generate_for_params(
    params: Mapping[str, str | None], key: str, salt: SaltSource = random_salt
) -> str:
    """Checksum of form parameters (callbacks, webhooks)."""
    return generate_for_string(params_string(params), key, salt)


def verify_params(params: Mapping[str, str | None], key: str, checksum: str) -> bool:
    """Verify form parameters; ``CHECKSUMHASH`` itself is ignored if present."""
    return verify_string(params_string(params), key, checksum)
