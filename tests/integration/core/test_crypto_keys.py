"""The platform's SM2 signing key on disk: created once, private to its owner, reloaded after."""

from __future__ import annotations

import stat
import threading
from pathlib import Path

import pytest

from rongshu.core.crypto import SM2PrivateKey, load_or_create_signing_key
from rongshu.core.errors import ConfigurationError, ValidationFailed


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_creates_a_0600_key_in_a_new_0700_directory(tmp_path: Path) -> None:
    keys_dir = tmp_path / "data" / "keys"
    key = load_or_create_signing_key(keys_dir)
    path = keys_dir / "platform-sm2.pem"
    assert _mode(path) == 0o600
    assert _mode(keys_dir) == 0o700
    assert SM2PrivateKey.from_pem(path.read_bytes()).public_key() == key.public_key()
    assert [p.name for p in keys_dir.iterdir()] == ["platform-sm2.pem"]  # no temp file left


def test_reloads_the_same_key_on_later_calls(tmp_path: Path) -> None:
    first = load_or_create_signing_key(tmp_path, "checkpoint")
    pem = (tmp_path / "checkpoint.pem").read_bytes()
    second = load_or_create_signing_key(tmp_path, "checkpoint")
    assert second.public_key() == first.public_key()
    assert (tmp_path / "checkpoint.pem").read_bytes() == pem
    assert first.public_key().verify(b"head", second.sign(b"head"))


def test_names_give_separate_keys(tmp_path: Path) -> None:
    a = load_or_create_signing_key(tmp_path, "a")
    b = load_or_create_signing_key(tmp_path, "b")
    assert a.public_key() != b.public_key()


def test_concurrent_first_calls_agree_on_one_key(tmp_path: Path) -> None:
    keys_dir = tmp_path / "keys"
    found: list[bytes] = []
    barrier = threading.Barrier(8)

    def start() -> None:
        barrier.wait()
        found.append(load_or_create_signing_key(keys_dir).public_key().raw())

    threads = [threading.Thread(target=start) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    on_disk = SM2PrivateKey.from_pem((keys_dir / "platform-sm2.pem").read_bytes())
    assert set(found) == {on_disk.public_key().raw()}


def test_a_damaged_key_file_is_a_configuration_error_not_a_new_key(tmp_path: Path) -> None:
    path = tmp_path / "platform-sm2.pem"
    path.write_bytes(b"-----BEGIN PRIVATE KEY-----\ngarbage\n-----END PRIVATE KEY-----\n")
    with pytest.raises(ConfigurationError, match="platform-sm2.pem"):
        load_or_create_signing_key(tmp_path)
    assert b"garbage" in path.read_bytes()


@pytest.mark.parametrize("name", ["", "../escape", "a/b", ".hidden", "x" * 65])
def test_unsafe_key_names_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValidationFailed):
        load_or_create_signing_key(tmp_path / "keys", name)
    assert not (tmp_path / "keys").exists()
