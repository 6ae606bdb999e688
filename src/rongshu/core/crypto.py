"""Chinese commercial cryptography (国密): SM3, HMAC-SM3, SM4-GCM and SM2, behind one interface.

Everything the platform does with these algorithms goes through a :class:`CryptoProvider`, so an
HSM or a KMS can take the place of :class:`LocalCryptoProvider` later without touching callers.
The local provider runs in-process: SM3 and SM4 through ``cryptography`` (or the stdlib's OpenSSL
for plain SM3, which is faster per call), SM2 through the native Tongsuo library (``tongsuopy``).

SM2 signing follows GB/T 32918.2-2016: ``e = SM3(ZA || M)`` where
``ZA = SM3(ENTL || ID || a || b || xG || yG || xA || yA)`` on the recommended curve of
GB/T 32918.5-2017. We compute ``ZA`` and ``e`` here and hand only ``e`` to Tongsuo, which lets any
user id be used (Tongsuo's own digest-sign path only knows the default id ``1234567812345678``).
Signatures travel as raw ``r || s`` (64 bytes), the form the standard prints.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final, Protocol, runtime_checkable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as _hmac
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from tongsuopy.backends.tongsuo.backend import backend as _tongsuo
from tongsuopy.crypto import serialization as _ts_serialization
from tongsuopy.crypto.asymciphers import ec as _ts_ec
from tongsuopy.crypto.exceptions import UnsupportedAlgorithm

from rongshu.core.errors import ConfigurationError, RongshuError, ValidationFailed

__all__ = [
    "DEFAULT_SM2_USER_ID",
    "CryptoProvider",
    "LocalCryptoProvider",
    "create_key_file",
    "SM2PrivateKey",
    "SM2PublicKey",
    "hmac_sm3",
    "load_or_create_signing_key",
    "sm3",
]

DEFAULT_SM2_USER_ID: Final[bytes] = b"1234567812345678"

SM4_KEY_BYTES: Final = 16
GCM_NONCE_BYTES: Final = 12
GCM_TAG_BYTES: Final = 16

# The recommended 256-bit curve of GB/T 32918.5-2017 (the one every SM2 product uses).
_SM2_A: Final = bytes.fromhex("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC")
_SM2_B: Final = bytes.fromhex("28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93")
_SM2_GX: Final = bytes.fromhex("32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7")
_SM2_GY: Final = bytes.fromhex("BC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0")
_SM2_N: Final = int("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123", 16)
_SM2_ZA_CURVE_PART: Final = _SM2_A + _SM2_B + _SM2_GX + _SM2_GY
# ENTL is a 16-bit count of the id's *bits*.
_SM2_MAX_USER_ID_BYTES: Final = 0xFFFF // 8
_SM2_MAX_DER_SIGNATURE: Final = 80  # a DER SEQUENCE of two 256-bit INTEGERs is at most 72 bytes

_SM3_ALGORITHM: Final = hashes.SM3()


# --- SM3 and HMAC-SM3 -------------------------------------------------------------------------


def _sm3_cryptography(data: bytes) -> bytes:
    """SM3 through ``cryptography``: always available."""
    digest = hashes.Hash(_SM3_ALGORITHM)
    digest.update(data)
    return digest.finalize()


def _hashlib_sm3_or_none() -> Callable[[bytes], bytes] | None:
    """SM3 through the stdlib's OpenSSL, when that OpenSSL has it (FIPS builds may not)."""
    try:
        prototype = hashlib.new("sm3")
    except ValueError:
        return None
    # Copying a fresh prototype skips hashlib.new's name lookup: ~1.2 µs instead of ~1.6 µs.
    new_hash = prototype.copy

    def _sm3_hashlib(data: bytes) -> bytes:
        """SM3 through the stdlib's OpenSSL."""
        digest = new_hash()
        digest.update(data)
        return digest.digest()

    return _sm3_hashlib


_sm3_hashlib: Final = _hashlib_sm3_or_none()

#: ``sm3(data) -> 32-byte digest`` (GB/T 32905-2016). The audit ledger calls this for every
#: entry, so it is bound straight to the fastest implementation this machine has; both give
#: identical results.
sm3: Final[Callable[[bytes], bytes]] = _sm3_hashlib or _sm3_cryptography


def hmac_sm3(key: bytes, data: bytes) -> bytes:
    """HMAC (RFC 2104) with SM3 as the hash, as in GM/T 0042-2015; returns 32 bytes."""
    # cryptography's HMAC measured slightly faster per call than hmac.digest(..., "sm3").
    mac = _hmac.HMAC(key, _SM3_ALGORITHM)
    mac.update(data)
    return mac.finalize()


# --- SM4-GCM ----------------------------------------------------------------------------------


def _check_sm4_key(key: bytes) -> None:
    if len(key) != SM4_KEY_BYTES:
        raise ValidationFailed(
            f"An SM4 key is {SM4_KEY_BYTES} bytes; this one is {len(key)}.",
            details=[{"field": "key", "reason": "wrong_length", "length": len(key)}],
        )


def _sm4_gcm_encrypt(key: bytes, plaintext: bytes, associated_data: bytes | None) -> bytes:
    _check_sm4_key(key)
    nonce = secrets.token_bytes(GCM_NONCE_BYTES)
    encryptor = Cipher(algorithms.SM4(key), modes.GCM(nonce)).encryptor()
    if associated_data:
        encryptor.authenticate_additional_data(associated_data)
    ciphertext = encryptor.update(plaintext) + encryptor.finalize()
    return nonce + ciphertext + encryptor.tag


def _sm4_gcm_decrypt(key: bytes, token: bytes, associated_data: bytes | None) -> bytes:
    _check_sm4_key(key)
    if len(token) < GCM_NONCE_BYTES + GCM_TAG_BYTES:
        raise ValidationFailed(
            "The encrypted value is too short to be SM4-GCM output.",
            details=[{"field": "token", "reason": "too_short", "length": len(token)}],
        )
    nonce = token[:GCM_NONCE_BYTES]
    tag = token[-GCM_TAG_BYTES:]
    decryptor = Cipher(algorithms.SM4(key), modes.GCM(nonce, tag)).decryptor()
    if associated_data:
        decryptor.authenticate_additional_data(associated_data)
    plaintext = decryptor.update(token[GCM_NONCE_BYTES:-GCM_TAG_BYTES])
    try:
        return plaintext + decryptor.finalize()
    except InvalidTag:
        raise ValidationFailed(
            "The encrypted value could not be decrypted: wrong key, or it was altered.",
            details=[{"field": "token", "reason": "authentication_failed"}],
        ) from None


# --- SM2 ------------------------------------------------------------------------------------


def _sm2_za(user_id: bytes, public_raw: bytes) -> bytes:
    """ZA of GB/T 32918.2-2016 §5.5 for ``user_id`` and the public point ``x || y``."""
    if len(user_id) > _SM2_MAX_USER_ID_BYTES:
        raise ValidationFailed(
            f"An SM2 user id is at most {_SM2_MAX_USER_ID_BYTES} bytes.",
            details=[{"field": "user_id", "reason": "too_long", "length": len(user_id)}],
        )
    entl = (len(user_id) * 8).to_bytes(2, "big")
    return sm3(entl + user_id + _SM2_ZA_CURVE_PART + public_raw)


def _native_errors_cleared() -> None:
    # Tongsuo keeps a per-thread error queue; a failed call must not leave entries behind
    # for the next, unrelated call to trip over.
    _tongsuo._consume_errors()


def _native_sign_digest(evp_pkey: Any, e: bytes) -> tuple[int, int]:
    lib, ffi = _tongsuo._lib, _tongsuo._ffi
    ctx = ffi.gc(lib.EVP_PKEY_CTX_new(evp_pkey, ffi.NULL), lib.EVP_PKEY_CTX_free)
    length = ffi.new("size_t *", _SM2_MAX_DER_SIGNATURE)
    buffer = ffi.new("unsigned char[]", _SM2_MAX_DER_SIGNATURE)
    # On an SM2 key, EVP_PKEY_sign signs its input as the digest e itself (no hashing).
    if ctx == ffi.NULL or lib.EVP_PKEY_sign_init(ctx) != 1:
        _native_errors_cleared()
        raise RongshuError("The SM2 library could not start a signature.")
    if lib.EVP_PKEY_sign(ctx, buffer, length, e, len(e)) != 1:
        _native_errors_cleared()
        raise RongshuError("The SM2 library failed to sign.")
    r, s = decode_dss_signature(bytes(ffi.buffer(buffer, length[0])))
    return r, s


def _native_verify_digest(evp_pkey: Any, r: int, s: int, e: bytes) -> bool:
    lib, ffi = _tongsuo._lib, _tongsuo._ffi
    der = encode_dss_signature(r, s)
    ctx = ffi.gc(lib.EVP_PKEY_CTX_new(evp_pkey, ffi.NULL), lib.EVP_PKEY_CTX_free)
    if ctx == ffi.NULL or lib.EVP_PKEY_verify_init(ctx) != 1:
        _native_errors_cleared()
        raise RongshuError("The SM2 library could not start a verification.")
    result = lib.EVP_PKEY_verify(ctx, der, len(der), e, len(e))
    if result != 1:
        _native_errors_cleared()
    return bool(result == 1)


def _is_sm2_key(key: Any) -> bool:
    return isinstance(getattr(key, "curve", None), _ts_ec.SM2)


class SM2PublicKey:
    """An SM2 public key on the recommended curve; immutable, compares by value."""

    __slots__ = ("_default_za", "_key", "_raw")

    _key: Any
    _raw: bytes
    _default_za: bytes

    def __init__(self, native_key: Any) -> None:
        """Wrap a Tongsuo key; use :meth:`from_pem` or :meth:`from_raw` instead."""
        if not _is_sm2_key(native_key) or not isinstance(native_key, _ts_ec.EllipticCurvePublicKey):
            raise ValidationFailed("Not an SM2 public key.")
        point = native_key.public_bytes(
            _ts_serialization.Encoding.X962, _ts_serialization.PublicFormat.UncompressedPoint
        )
        raw = bytes(point[1:])
        object.__setattr__(self, "_key", native_key)
        object.__setattr__(self, "_raw", raw)
        object.__setattr__(self, "_default_za", _sm2_za(DEFAULT_SM2_USER_ID, raw))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SM2PublicKey) and other._raw == self._raw

    def __hash__(self) -> int:
        return hash(self._raw)

    def __repr__(self) -> str:
        return f"SM2PublicKey(fingerprint={self.fingerprint()!r})"

    @classmethod
    def from_pem(cls, pem: bytes) -> SM2PublicKey:
        """Load a SubjectPublicKeyInfo PEM; anything but an SM2 public key is refused."""
        try:
            native = _ts_serialization.load_pem_public_key(pem)
        except (ValueError, TypeError, UnsupportedAlgorithm):
            _native_errors_cleared()
            raise ValidationFailed("Not a PEM SM2 public key.") from None
        return cls(native)

    @classmethod
    def from_raw(cls, raw: bytes) -> SM2PublicKey:
        """Load the 64-byte ``x || y`` form that :meth:`raw` returns; checks the point."""
        if len(raw) != 64:
            raise ValidationFailed(f"A raw SM2 public key is 64 bytes; this one is {len(raw)}.")
        try:
            native = _ts_ec.EllipticCurvePublicKey.from_encoded_point(_ts_ec.SM2(), b"\x04" + raw)
        except ValueError:
            _native_errors_cleared()
            raise ValidationFailed("Those 64 bytes are not a point on the SM2 curve.") from None
        return cls(native)

    def za(self, user_id: bytes = DEFAULT_SM2_USER_ID) -> bytes:
        """ZA for this key and ``user_id`` (GB/T 32918.2-2016 §5.5), 32 bytes."""
        return self._default_za if user_id == DEFAULT_SM2_USER_ID else _sm2_za(user_id, self._raw)

    def message_digest(self, data: bytes, user_id: bytes = DEFAULT_SM2_USER_ID) -> bytes:
        """The ``e = SM3(ZA || M)`` that an SM2 signature over ``data`` actually signs."""
        return sm3(self.za(user_id) + data)

    def verify(
        self, data: bytes, signature: bytes, *, user_id: bytes = DEFAULT_SM2_USER_ID
    ) -> bool:
        """True when ``signature`` (raw ``r || s``) is this key's over ``data``; never raises
        on a bad signature."""
        if len(signature) != 64:
            return False
        r = int.from_bytes(signature[:32], "big")
        s = int.from_bytes(signature[32:], "big")
        if not (0 < r < _SM2_N and 0 < s < _SM2_N):
            return False
        return _native_verify_digest(self._key._evp_pkey, r, s, self.message_digest(data, user_id))

    def to_pem(self) -> bytes:
        """SubjectPublicKeyInfo PEM (algorithm id-ecPublicKey, curve sm2p256v1)."""
        return bytes(
            self._key.public_bytes(
                _ts_serialization.Encoding.PEM,
                _ts_serialization.PublicFormat.SubjectPublicKeyInfo,
            )
        )

    def fingerprint(self) -> str:
        """First 16 hex characters of SM3(04 || x || y): a short name to show people."""
        return sm3(b"\x04" + self._raw).hex()[:16]

    def raw(self) -> bytes:
        """The public point as 64 bytes ``x || y``."""
        return self._raw


class SM2PrivateKey:
    """An SM2 private key on the recommended curve. Its ``repr`` never shows the secret."""

    __slots__ = ("_key", "_public")

    def __init__(self, native_key: Any) -> None:
        """Wrap a Tongsuo key; use :meth:`generate` or :meth:`from_pem` instead."""
        if not _is_sm2_key(native_key) or not isinstance(
            native_key, _ts_ec.EllipticCurvePrivateKey
        ):
            raise ValidationFailed("Not an SM2 private key.")
        # SM2 needs (1 + d) to be invertible mod n, so d = n - 1 is not a valid key.
        if not 0 < native_key.private_numbers().private_value < _SM2_N - 1:
            raise ValidationFailed("The SM2 private value is out of range [1, n-2].")
        self._key: Any = native_key
        self._public = SM2PublicKey(native_key.public_key())

    def __repr__(self) -> str:
        return f"SM2PrivateKey(public_fingerprint={self._public.fingerprint()!r})"

    @classmethod
    def generate(cls) -> SM2PrivateKey:
        """A fresh random key from the native library's CSPRNG."""
        while True:
            native = _ts_ec.generate_private_key(_ts_ec.SM2())
            if native.private_numbers().private_value < _SM2_N - 1:
                return cls(native)

    def sign(self, data: bytes, *, user_id: bytes = DEFAULT_SM2_USER_ID) -> bytes:
        """SM2 signature over ``data`` as raw ``r || s`` (64 bytes), randomized per call."""
        e = self._public.message_digest(data, user_id)
        r, s = _native_sign_digest(self._key._evp_pkey, e)
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")

    def public_key(self) -> SM2PublicKey:
        """The matching public key."""
        return self._public

    def to_pem(self) -> bytes:
        """Unencrypted PKCS#8 PEM. Whoever stores it must protect the file (see
        :func:`load_or_create_signing_key`)."""
        return bytes(
            self._key.private_bytes(
                _ts_serialization.Encoding.PEM,
                _ts_serialization.PrivateFormat.PKCS8,
                _ts_serialization.NoEncryption(),
            )
        )

    @classmethod
    def from_pem(cls, pem: bytes) -> SM2PrivateKey:
        """Load an unencrypted PEM private key (PKCS#8 or SEC1); anything but SM2 is refused."""
        try:
            loaded = _ts_serialization.load_pem_private_key(pem, password=None)
            if not _is_sm2_key(loaded):
                raise ValidationFailed("The PEM holds a key, but not an SM2 private key.")
            # Rebuild from the private value alone, so a PEM whose stored public point does
            # not match its private value cannot produce signatures that never verify.
            native = _ts_ec.derive_private_key(loaded.private_numbers().private_value, _ts_ec.SM2())
        except (ValueError, TypeError, UnsupportedAlgorithm):
            _native_errors_cleared()
            raise ValidationFailed("Not an unencrypted PEM SM2 private key.") from None
        return cls(native)


# --- the provider interface -------------------------------------------------------------------


@runtime_checkable
class CryptoProvider(Protocol):
    """The cryptography the platform needs; an HSM or KMS provider implements the same."""

    def sm3(self, data: bytes) -> bytes:
        """SM3 digest, 32 bytes."""
        ...

    def hmac_sm3(self, key: bytes, data: bytes) -> bytes:
        """HMAC-SM3, 32 bytes."""
        ...

    def sm4_gcm_encrypt(
        self, key: bytes, plaintext: bytes, *, associated_data: bytes | None = None
    ) -> bytes:
        """``nonce(12) || ciphertext || tag(16)`` with a fresh random nonce."""
        ...

    def sm4_gcm_decrypt(
        self, key: bytes, token: bytes, *, associated_data: bytes | None = None
    ) -> bytes:
        """The plaintext; ``ValidationFailed`` on a wrong key or an altered or short token."""
        ...

    def sm2_sign(self, key: SM2PrivateKey, data: bytes) -> bytes:
        """Raw ``r || s`` SM2 signature with the default user id."""
        ...

    def sm2_verify(self, key: SM2PublicKey, data: bytes, signature: bytes) -> bool:
        """Whether ``signature`` is valid; False, never an exception, when it is not."""
        ...


class LocalCryptoProvider:
    """:class:`CryptoProvider` in this process, with ``cryptography`` and Tongsuo."""

    def sm3(self, data: bytes) -> bytes:
        """SM3 digest, 32 bytes."""
        return sm3(data)

    def hmac_sm3(self, key: bytes, data: bytes) -> bytes:
        """HMAC-SM3, 32 bytes."""
        return hmac_sm3(key, data)

    def sm4_gcm_encrypt(
        self, key: bytes, plaintext: bytes, *, associated_data: bytes | None = None
    ) -> bytes:
        """``nonce(12) || ciphertext || tag(16)`` with a fresh random nonce."""
        return _sm4_gcm_encrypt(key, plaintext, associated_data)

    def sm4_gcm_decrypt(
        self, key: bytes, token: bytes, *, associated_data: bytes | None = None
    ) -> bytes:
        """The plaintext; ``ValidationFailed`` on a wrong key or an altered or short token."""
        return _sm4_gcm_decrypt(key, token, associated_data)

    def sm2_sign(self, key: SM2PrivateKey, data: bytes) -> bytes:
        """Raw ``r || s`` SM2 signature with the default user id."""
        return key.sign(data)

    def sm2_verify(self, key: SM2PublicKey, data: bytes, signature: bytes) -> bool:
        """Whether ``signature`` is valid; False, never an exception, when it is not."""
        return key.verify(data, signature)


# --- the platform's signing key on disk -------------------------------------------------------

_KEY_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def _read_key_file(path: Path) -> SM2PrivateKey:
    pem = path.read_bytes()
    try:
        return SM2PrivateKey.from_pem(pem)
    except ValidationFailed:
        raise ConfigurationError(f"{path} is not an unencrypted PEM SM2 private key.") from None


def load_or_create_signing_key(keys_dir: Path, name: str = "platform-sm2") -> SM2PrivateKey:
    """Load ``keys_dir/<name>.pem``, or create it (file 0600, new directory 0700).

    This is the platform's checkpoint-signing key. Two processes starting at once end up with
    the same key: the file appears whole or not at all, and whoever comes second loads it.
    """
    if not _KEY_NAME.fullmatch(name):
        raise ValidationFailed(
            "A key name is letters, digits, '.', '_' or '-' (at most 64), not starting with '.'.",
            details=[{"field": "name", "reason": "invalid", "value": name}],
        )
    path = keys_dir / f"{name}.pem"
    if path.exists():
        return _read_key_file(path)
    key = SM2PrivateKey.generate()
    if not create_key_file(path, key.to_pem()):
        return _read_key_file(path)  # another process created it first
    return key


def create_key_file(path: Path, data: bytes) -> bool:
    """Write a new key file (0600; its directory 0700 if new); False if it already exists.

    The file appears whole or not at all, and never replaces one: of two processes creating
    the same key at once, the first wins and the second reads the first's key.
    """
    if path.exists():
        return False
    if not path.parent.is_dir():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    # mkstemp creates the file 0600; the key is written and synced before it gets its name.
    fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as temp:
            temp.write(data)
            temp.flush()
            os.fsync(temp.fileno())
        try:
            os.link(temp_name, path)  # atomic and never replaces: the first creator wins
        except FileExistsError:
            return False
    finally:
        os.unlink(temp_name)
    return True
