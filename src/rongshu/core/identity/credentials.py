"""API keys' signing secrets, sealed at rest.

A signed request (``rongshu.exchange.signing``) is checked with the HMAC-SM3 key the client
holds: its API key's secret part. The server keeps only an HMAC of that secret for plain API-key
calls, so for signatures it also keeps the secret itself, sealed with SM4-GCM under the current
``credential`` data key and bound to the key id (associated data), never in clear.
"""

from __future__ import annotations

from typing import Final

from rongshu.core.crypto import LocalCryptoProvider
from rongshu.core.errors import ConfigurationError, NotFound, ValidationFailed
from rongshu.core.keys import KeyProvider, KeyPurpose

_SEALED_PREFIX: Final = "sm4gcm"
_crypto: Final = LocalCryptoProvider()


def seal_signing_secret(keys: KeyProvider, key_id: str, secret: str) -> str:
    """``secret`` sealed with SM4-GCM under the current ``credential`` key, bound to ``key_id``
    (associated data), as ``sm4gcm:v<key version>:<hex>`` for ``ApiKey.signing_secret``."""
    version, key = keys.current(KeyPurpose.CREDENTIAL)
    token = _crypto.sm4_gcm_encrypt(key, secret.encode(), associated_data=key_id.encode())
    return f"{_SEALED_PREFIX}:v{version}:{token.hex()}"


def open_signing_secret(keys: KeyProvider, key_id: str, token: str) -> str:
    """The secret :func:`seal_signing_secret` sealed for ``key_id``.

    A token that does not open (malformed, its key version gone, altered, or copied from another
    key) is the installation's fault, not the caller's: a 500 that names the key.
    """
    prefix, _, rest = token.partition(":")
    version, _, body = rest.partition(":")
    try:
        if prefix != _SEALED_PREFIX or not version[1:].isdigit() or version[:1] != "v":
            raise ValidationFailed("not an sm4gcm:v<N>:<hex> token")
        key = keys.get(KeyPurpose.CREDENTIAL, int(version[1:]))
        plain = _crypto.sm4_gcm_decrypt(key, bytes.fromhex(body), associated_data=key_id.encode())
    except (ValidationFailed, NotFound, ValueError) as exc:
        message = exc.message if isinstance(exc, ValidationFailed | NotFound) else str(exc)
        raise ConfigurationError(
            f"the signing secret of API key {key_id} cannot be opened ({message}); check the "
            "credential keys in the keys directory, or issue the app a new key"
        ) from None
    return plain.decode()
