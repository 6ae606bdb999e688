"""API keys' signing secrets are sealed at rest under the credential data key."""

from __future__ import annotations

from pathlib import Path

import pytest

from rongshu.core.errors import ConfigurationError
from rongshu.core.identity.credentials import open_signing_secret, seal_signing_secret
from rongshu.core.keys import KeyPurpose, LocalKeyDirectory

KEY_ID = "0123456789abcdef"


def test_signing_secret_is_sealed_under_the_credential_key_and_opens(tmp_path: Path) -> None:
    keys = LocalKeyDirectory(tmp_path / "keys" / "data")
    secret = "s3cr_et-Value_9-" + "x" * 27  # as long as token_urlsafe(32)
    token = seal_signing_secret(keys, KEY_ID, secret)
    assert token.startswith("sm4gcm:v1:") and secret not in token
    assert len(token) <= 200, "fits ApiKey.signing_secret"
    assert keys.versions(KeyPurpose.CREDENTIAL) == [1]
    assert open_signing_secret(keys, KEY_ID, token) == secret
    assert seal_signing_secret(keys, KEY_ID, secret) != token, "a fresh GCM nonce each time"

    keys.rotate(KeyPurpose.CREDENTIAL)
    newer = seal_signing_secret(keys, KEY_ID, secret)
    assert newer.startswith("sm4gcm:v2:")
    assert open_signing_secret(keys, KEY_ID, token) == secret, "older versions still open"


def _flip_last_byte(token: str) -> str:
    return token[:-2] + ("00" if token[-2:] != "00" else "11")


SPOILED = {
    # (the key id the token is opened for, what happened to the token)
    "copied to another key": ("fedcba9876543210", lambda token: token),
    "altered": (KEY_ID, _flip_last_byte),
    "key version gone": (KEY_ID, lambda token: token.replace("sm4gcm:v1:", "sm4gcm:v7:")),
    "not a token": (KEY_ID, lambda token: token.replace("sm4gcm:", "plain:")),
    "not hex": (KEY_ID, lambda token: token + "zz"),
}


@pytest.mark.parametrize("case", SPOILED)
def test_a_sealed_secret_that_does_not_open_is_a_server_error(tmp_path: Path, case: str) -> None:
    keys = LocalKeyDirectory(tmp_path / "keys" / "data")
    key_id, spoil = SPOILED[case]
    token = spoil(seal_signing_secret(keys, KEY_ID, "the-secret"))
    with pytest.raises(ConfigurationError, match=f"signing secret of API key {key_id}") as caught:
        open_signing_secret(keys, key_id, token)
    assert caught.value.status == 500
