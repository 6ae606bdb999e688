"""SM3 / HMAC-SM3 / SM4 / SM2 against the published example vectors, and SM2 cross-checked with
gmssl (a pure-Python implementation sharing no code with Tongsuo)."""

from __future__ import annotations

import random
import secrets
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec as cryptography_ec
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from gmssl import sm2 as gmssl_sm2
from gmssl import sm3 as gmssl_sm3
from tongsuopy.crypto import serialization as tongsuo_serialization
from tongsuopy.crypto.asymciphers import ec as tongsuo_ec

from rongshu.core import crypto
from rongshu.core.crypto import (
    DEFAULT_SM2_USER_ID,
    CryptoProvider,
    LocalCryptoProvider,
    SM2PrivateKey,
    SM2PublicKey,
    hmac_sm3,
    sm3,
)
from rongshu.core.errors import ValidationFailed

# --- SM3 -----------------------------------------------------------------------------------------

# GB/T 32905-2016 Appendix A, examples 1 and 2.
SM3_VECTORS = [
    (b"abc", "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"),
    (b"abcd" * 16, "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"),
]

SM3_IMPLEMENTATIONS: list[Callable[[bytes], bytes]] = [crypto._sm3_cryptography]
if crypto._sm3_hashlib is not None:
    SM3_IMPLEMENTATIONS.append(crypto._sm3_hashlib)


def test_this_machine_has_the_fast_sm3_path() -> None:
    # The stdlib's OpenSSL has SM3 here; if it ever loses it, sm3() silently gets slower.
    assert crypto._sm3_hashlib is not None
    assert sm3 is crypto._sm3_hashlib


@pytest.mark.parametrize("implementation", SM3_IMPLEMENTATIONS, ids=lambda f: f.__name__)
@pytest.mark.parametrize(("message", "digest"), SM3_VECTORS, ids=["abc", "abcd*16"])
def test_sm3_gbt32905_examples(
    implementation: Callable[[bytes], bytes], message: bytes, digest: str
) -> None:
    assert implementation(message).hex() == digest


@pytest.mark.parametrize(("message", "digest"), SM3_VECTORS, ids=["abc", "abcd*16"])
def test_sm3_public_helper_and_provider_give_the_standard_digest(
    message: bytes, digest: str
) -> None:
    assert sm3(message).hex() == digest
    assert LocalCryptoProvider().sm3(message).hex() == digest


def test_sm3_paths_agree_with_each_other_and_gmssl_on_every_length() -> None:
    rng = random.Random(32905)
    for length in [*range(0, 130), 1000, 4096]:
        data = rng.randbytes(length)
        expected = gmssl_sm3.sm3_hash(list(data))
        assert {impl(data).hex() for impl in SM3_IMPLEMENTATIONS} == {expected}


# --- HMAC-SM3 ------------------------------------------------------------------------------------

# GM/T 0042-2015 Appendix D.3 (the same vectors OpenSSL, Linux testmgr and others test against).
HMAC_SM3_VECTORS = [
    (
        bytes(range(1, 33)),
        b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq" * 2,
        "ca05e144ed05d1857840d1f318a4a8669e559fc8391f414485bfdf7bb408963a",
    ),
    (
        bytes(range(1, 38)),
        b"\xcd" * 50,
        "220bf579ded555393f0159f66c99877822a3ecf610d1552154b41d44b94db3ae",
    ),
    (
        b"\x0b" * 32,
        b"Hi There",
        "c0ba18c68b90c88bc07de794bfc7d2c8d19ec31ed8773bc2b390c9604e0be11e",
    ),
    (
        b"Jefe",
        b"what do ya want for nothing?",
        "2e87f1d16862e6d964b50a5200bf2b10b764faa9680a296a2405f24bec39f882",
    ),
]


@pytest.mark.parametrize(("key", "data", "mac"), HMAC_SM3_VECTORS, ids=["1", "2", "3", "4"])
def test_hmac_sm3_gmt0042_vectors(key: bytes, data: bytes, mac: str) -> None:
    assert hmac_sm3(key, data).hex() == mac
    assert LocalCryptoProvider().hmac_sm3(key, data).hex() == mac


def _rfc2104_hmac_with_gmssl_sm3(key: bytes, data: bytes) -> bytes:
    block = 64
    if len(key) > block:
        key = bytes.fromhex(gmssl_sm3.sm3_hash(list(key)))
    key = key.ljust(block, b"\x00")
    inner = bytes.fromhex(gmssl_sm3.sm3_hash(list(bytes(b ^ 0x36 for b in key) + data)))
    return bytes.fromhex(gmssl_sm3.sm3_hash(list(bytes(b ^ 0x5C for b in key) + inner)))


@pytest.mark.parametrize("key_length", [0, 1, 16, 32, 63, 64, 65, 200])
def test_hmac_sm3_matches_rfc2104_built_on_an_independent_sm3(key_length: int) -> None:
    # The key lengths around the 64-byte block are where HMAC implementations go wrong.
    rng = random.Random(key_length)
    key, data = rng.randbytes(key_length), rng.randbytes(100)
    assert hmac_sm3(key, data) == _rfc2104_hmac_with_gmssl_sm3(key, data)


# --- SM4 -----------------------------------------------------------------------------------------

SM4_EXAMPLE_KEY = bytes.fromhex("0123456789abcdeffedcba9876543210")


def test_sm4_gbt32907_example_1_one_block() -> None:
    ecb = modes.ECB()  # noqa: S305 - the standard's examples are single blocks
    cipher = Cipher(algorithms.SM4(SM4_EXAMPLE_KEY), ecb)
    ciphertext = cipher.encryptor().update(SM4_EXAMPLE_KEY)
    assert ciphertext.hex() == "681edf34d206965e86b3e94f536e4246"
    assert cipher.decryptor().update(ciphertext) == SM4_EXAMPLE_KEY


def test_sm4_gbt32907_example_2_a_million_encryptions() -> None:
    # About 0.3 s here, so it runs with the fast tests.
    ecb = modes.ECB()  # noqa: S305 - the standard's examples are single blocks
    encryptor = Cipher(algorithms.SM4(SM4_EXAMPLE_KEY), ecb).encryptor()
    block = SM4_EXAMPLE_KEY
    for _ in range(1_000_000):
        block = encryptor.update(block)
    assert block.hex() == "595298c7c6fd271f0402f804c33d3f66"


# RFC 8998 Appendix A.1 (SM4-GCM), confirmed against GmSSL's and nettle's test suites.
GCM_KEY = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
GCM_NONCE = bytes.fromhex("00001234567800000000ABCD")
GCM_AAD = bytes.fromhex("FEEDFACEDEADBEEFFEEDFACEDEADBEEFABADDAD2")
GCM_PLAINTEXT = bytes.fromhex(
    "AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBBCCCCCCCCCCCCCCCCDDDDDDDDDDDDDDDD"
    "EEEEEEEEEEEEEEEEFFFFFFFFFFFFFFFFEEEEEEEEEEEEEEEEAAAAAAAAAAAAAAAA"
)
GCM_CIPHERTEXT = bytes.fromhex(
    "17F399F08C67D5EE19D0DC9969C4BB7D5FD46FD3756489069157B282BB200735"
    "D82710CA5C22F0CCFA7CBF93D496AC15A56834CBCF98C397B4024A2691233B8D"
)
GCM_TAG = bytes.fromhex("83DE3541E4C2B58177E065A9BF7B62EC")
GCM_TOKEN = GCM_NONCE + GCM_CIPHERTEXT + GCM_TAG


@pytest.fixture
def provider() -> LocalCryptoProvider:
    return LocalCryptoProvider()


def test_sm4_gcm_rfc8998_vector_encrypts_to_nonce_ciphertext_tag(
    provider: LocalCryptoProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(secrets, "token_bytes", lambda n: GCM_NONCE[:n])
    token = provider.sm4_gcm_encrypt(GCM_KEY, GCM_PLAINTEXT, associated_data=GCM_AAD)
    assert token == GCM_TOKEN


def test_sm4_gcm_rfc8998_vector_decrypts(provider: LocalCryptoProvider) -> None:
    assert provider.sm4_gcm_decrypt(GCM_KEY, GCM_TOKEN, associated_data=GCM_AAD) == GCM_PLAINTEXT


@pytest.mark.parametrize("plaintext", [b"", b"x", b"430102199001011234", bytes(range(256)) * 40])
@pytest.mark.parametrize("aad", [None, b"", b"resource:42/field:id_number"])
def test_sm4_gcm_round_trip(
    provider: LocalCryptoProvider, plaintext: bytes, aad: bytes | None
) -> None:
    key = bytes(range(16))
    token = provider.sm4_gcm_encrypt(key, plaintext, associated_data=aad)
    assert len(token) == 12 + len(plaintext) + 16
    assert provider.sm4_gcm_decrypt(key, token, associated_data=aad) == plaintext


def test_sm4_gcm_uses_a_fresh_nonce_every_time(provider: LocalCryptoProvider) -> None:
    tokens = [provider.sm4_gcm_encrypt(GCM_KEY, b"same secret") for _ in range(50)]
    assert len({token[:12] for token in tokens}) == 50
    assert len({token[12:] for token in tokens}) == 50


@pytest.mark.parametrize("position", [0, 11, 12, 12 + 63, len(GCM_TOKEN) - 16, len(GCM_TOKEN) - 1])
def test_sm4_gcm_rejects_a_token_altered_anywhere(
    provider: LocalCryptoProvider, position: int
) -> None:
    altered = bytearray(GCM_TOKEN)
    altered[position] ^= 0x01
    with pytest.raises(ValidationFailed, match="wrong key, or it was altered"):
        provider.sm4_gcm_decrypt(GCM_KEY, bytes(altered), associated_data=GCM_AAD)


@pytest.mark.parametrize("aad", [None, b"", GCM_AAD + b"x", GCM_AAD[:-1]])
def test_sm4_gcm_rejects_other_associated_data(
    provider: LocalCryptoProvider, aad: bytes | None
) -> None:
    with pytest.raises(ValidationFailed):
        provider.sm4_gcm_decrypt(GCM_KEY, GCM_TOKEN, associated_data=aad)


def test_sm4_gcm_rejects_a_truncated_or_extended_token(provider: LocalCryptoProvider) -> None:
    for token in (GCM_TOKEN[:-1], GCM_TOKEN + b"\x00", GCM_TOKEN[:12] + GCM_TOKEN[13:]):
        with pytest.raises(ValidationFailed):
            provider.sm4_gcm_decrypt(GCM_KEY, token, associated_data=GCM_AAD)


def test_sm4_gcm_rejects_the_wrong_key(provider: LocalCryptoProvider) -> None:
    token = provider.sm4_gcm_encrypt(GCM_KEY, b"secret")
    wrong = bytes([GCM_KEY[0] ^ 0x80]) + GCM_KEY[1:]
    with pytest.raises(ValidationFailed, match="wrong key"):
        provider.sm4_gcm_decrypt(wrong, token)


@pytest.mark.parametrize("length", [0, 11, 27])
def test_sm4_gcm_rejects_a_token_too_short_to_hold_nonce_and_tag(
    provider: LocalCryptoProvider, length: int
) -> None:
    with pytest.raises(ValidationFailed, match="too short") as raised:
        provider.sm4_gcm_decrypt(GCM_KEY, GCM_TOKEN[:length])
    assert raised.value.details[0]["reason"] == "too_short"


@pytest.mark.parametrize("length", [0, 15, 17, 24, 32])
def test_sm4_gcm_refuses_keys_that_are_not_16_bytes(
    provider: LocalCryptoProvider, length: int
) -> None:
    key = bytes(length)
    with pytest.raises(ValidationFailed, match="SM4 key is 16 bytes"):
        provider.sm4_gcm_encrypt(key, b"x")
    with pytest.raises(ValidationFailed, match="SM4 key is 16 bytes"):
        provider.sm4_gcm_decrypt(key, GCM_TOKEN)


# --- SM2 -----------------------------------------------------------------------------------------

# GB/T 32918.2-2016 signature example on the recommended curve of GB/T 32918.5 (the same numbers
# appear in GM/T 0003.5-2012 and in the test suites of GmSSL, Go's sm2 packages and others).
SM2_D = int("3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8", 16)
SM2_PUBLIC = bytes.fromhex(
    "09F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020"
    "CCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13"
)
SM2_MESSAGE = b"message digest"
SM2_ZA = bytes.fromhex("B2E14C5C79C6DF5B85F4FE7ED8DB7A262B9DA7E07CCB0EA9F4747B8CCDA8A4F3")
SM2_E = bytes.fromhex("F0B43E94BA45ACCAACE692ED534382EB17E6AB5A19CE7B31F4486FDFC0D28640")
SM2_K = "59276E27D506861A16680F3AD9C02DCCEF3CC1FA3CDBE4CE6D54B80DEAC1BC21"
SM2_SIGNATURE = bytes.fromhex(
    "F5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3"
    "B1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA"
)
SM2_N = int("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123", 16)


def _key_from_private_value(d: int) -> SM2PrivateKey:
    return SM2PrivateKey(tongsuo_ec.derive_private_key(d, tongsuo_ec.SM2()))


def _gmssl(key: SM2PrivateKey) -> gmssl_sm2.CryptSM2:
    private_hex = f"{key._key.private_numbers().private_value:064x}"
    signer = gmssl_sm2.CryptSM2(private_key=private_hex, public_key="")
    # gmssl's constructor strips a leading "04" with lstrip, which also eats the x coordinate's
    # own leading 0s and 4s; setting the attribute directly sidesteps that.
    signer.public_key = key.public_key().raw().hex()
    return signer


def _gmssl_e(public: SM2PublicKey, data: bytes, user_id: bytes) -> bytes:
    """e = SM3(ZA || M) computed with gmssl's SM3, for user ids gmssl's API cannot take."""
    curve = gmssl_sm2.default_ecc_table
    za_input = (
        (len(user_id) * 8).to_bytes(2, "big")
        + user_id
        + bytes.fromhex(curve["a"] + curve["b"] + curve["g"])
        + public.raw()
    )
    za = bytes.fromhex(gmssl_sm3.sm3_hash(list(za_input)))
    return bytes.fromhex(gmssl_sm3.sm3_hash(list(za + data)))


def test_sm2_example_key_has_the_published_public_point() -> None:
    assert _key_from_private_value(SM2_D).public_key().raw() == SM2_PUBLIC


def test_sm2_example_za_and_e_match_the_standard() -> None:
    public = SM2PublicKey.from_raw(SM2_PUBLIC)
    assert public.za() == SM2_ZA
    assert public.za(DEFAULT_SM2_USER_ID) == SM2_ZA
    assert public.message_digest(SM2_MESSAGE) == SM2_E


def test_sm2_published_signature_verifies() -> None:
    assert SM2PublicKey.from_raw(SM2_PUBLIC).verify(SM2_MESSAGE, SM2_SIGNATURE)


def test_sm2_published_signature_fails_for_another_message_or_user_id() -> None:
    public = SM2PublicKey.from_raw(SM2_PUBLIC)
    assert not public.verify(b"message digesT", SM2_SIGNATURE)
    assert not public.verify(SM2_MESSAGE, SM2_SIGNATURE, user_id=b"ALICE123@YAHOO.COM")


def test_gmssl_reproduces_the_published_signature_from_the_published_k() -> None:
    # Shows the second implementation the cross-checks below rely on is itself right.
    signer = _gmssl(_key_from_private_value(SM2_D))
    assert signer.sign(SM2_E, SM2_K) == SM2_SIGNATURE.hex()
    assert signer.verify(SM2_SIGNATURE.hex(), SM2_E)


def test_sm2_cross_check_with_gmssl_both_ways_on_50_messages() -> None:
    rng = random.Random(32918)
    keys = [SM2PrivateKey.generate() for _ in range(5)]
    for round_number in range(50):
        key = keys[round_number % len(keys)]
        public = key.public_key()
        other = _gmssl(key)
        message = rng.randbytes(rng.randrange(0, 300))

        ours = key.sign(message)
        assert other.verify_with_sm3(ours.hex(), message), (
            f"gmssl rejected ours, round {round_number}"
        )

        theirs = bytes.fromhex(other.sign_with_sm3(message))
        assert public.verify(message, theirs), f"we rejected gmssl's, round {round_number}"


@pytest.mark.parametrize(
    "user_id", [b"", b"ALICE123@YAHOO.COM", "张三@市大数据局".encode(), b"x" * 300]
)
def test_sm2_cross_check_with_gmssl_for_other_user_ids(user_id: bytes) -> None:
    key = SM2PrivateKey.generate()
    public = key.public_key()
    other = _gmssl(key)
    message = b"checkpoint 42: " + bytes(range(64))
    e = _gmssl_e(public, message, user_id)
    assert public.message_digest(message, user_id) == e

    ours = key.sign(message, user_id=user_id)
    assert other.verify(ours.hex(), e)
    theirs = bytes.fromhex(other.sign(e, f"{random.randrange(1, SM2_N):064x}"))
    assert public.verify(message, theirs, user_id=user_id)
    assert not public.verify(message, theirs)  # the default id gives another e


def test_sm2_signatures_are_randomized_and_all_verify() -> None:
    key = SM2PrivateKey.generate()
    signatures = {key.sign(b"same data") for _ in range(20)}
    assert len(signatures) == 20
    assert all(len(s) == 64 and key.public_key().verify(b"same data", s) for s in signatures)


@pytest.fixture(scope="module")
def signed() -> tuple[SM2PrivateKey, bytes, bytes]:
    key = SM2PrivateKey.generate()
    data = b"audit checkpoint #1000 head=" + bytes(32)
    return key, data, key.sign(data)


def test_sm2_verify_rejects_tampered_data(signed: tuple[SM2PrivateKey, bytes, bytes]) -> None:
    key, data, signature = signed
    assert key.public_key().verify(data, signature)
    assert not key.public_key().verify(data + b"\x00", signature)
    assert not key.public_key().verify(data[:-1], signature)
    assert not key.public_key().verify(b"", signature)


@pytest.mark.parametrize("position", [0, 15, 31, 32, 47, 63])
def test_sm2_verify_rejects_a_tampered_signature(
    signed: tuple[SM2PrivateKey, bytes, bytes], position: int
) -> None:
    key, data, signature = signed
    altered = bytearray(signature)
    altered[position] ^= 0x01
    assert not key.public_key().verify(data, bytes(altered))


@pytest.mark.parametrize(
    "signature",
    [
        b"",
        bytes(63),
        bytes(65),
        bytes(64),  # r = s = 0
        b"\xff" * 64,  # r, s >= n
        SM2_N.to_bytes(32, "big") + (1).to_bytes(32, "big"),
        (1).to_bytes(32, "big") + SM2_N.to_bytes(32, "big"),
        b"0E\x02!\x00" + bytes(59),  # DER-looking junk
    ],
    ids=["empty", "63", "65", "zeros", "ffs", "r=n", "s=n", "der-junk"],
)
def test_sm2_verify_returns_false_for_malformed_signatures(
    signed: tuple[SM2PrivateKey, bytes, bytes], signature: bytes
) -> None:
    key, data, _ = signed
    assert key.public_key().verify(data, signature) is False


def test_sm2_verify_after_a_failure_still_accepts_good_signatures(
    signed: tuple[SM2PrivateKey, bytes, bytes],
) -> None:
    # A native failure must not leave state behind that breaks the next call.
    key, data, signature = signed
    for _ in range(3):
        assert not key.public_key().verify(data, b"\x01" * 64)
        assert key.public_key().verify(data, signature)


def test_sm2_verify_rejects_another_key_and_another_user_id(
    signed: tuple[SM2PrivateKey, bytes, bytes],
) -> None:
    key, data, signature = signed
    assert not SM2PrivateKey.generate().public_key().verify(data, signature)
    assert not key.public_key().verify(data, signature, user_id=b"1234567812345679")
    other_id_signature = key.sign(data, user_id=b"dept-0101")
    assert key.public_key().verify(data, other_id_signature, user_id=b"dept-0101")
    assert not key.public_key().verify(data, other_id_signature)


def test_sm2_user_id_longer_than_entl_allows_is_refused() -> None:
    key = SM2PrivateKey.generate()
    key.sign(b"x", user_id=b"u" * 8191)
    with pytest.raises(ValidationFailed, match="user id"):
        key.sign(b"x", user_id=b"u" * 8192)


def test_sm2_private_key_pem_round_trip() -> None:
    key = SM2PrivateKey.generate()
    pem = key.to_pem()
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----\n")  # PKCS#8, unencrypted
    reloaded = SM2PrivateKey.from_pem(pem)
    assert reloaded.public_key() == key.public_key()
    assert reloaded.to_pem() == pem
    assert key.public_key().verify(b"data", reloaded.sign(b"data"))


def test_sm2_public_key_pem_and_raw_round_trip() -> None:
    public = SM2PrivateKey.generate().public_key()
    pem = public.to_pem()
    assert pem.startswith(b"-----BEGIN PUBLIC KEY-----\n")
    assert SM2PublicKey.from_pem(pem) == public
    assert SM2PublicKey.from_pem(pem).to_pem() == pem
    assert len(public.raw()) == 64
    assert SM2PublicKey.from_raw(public.raw()) == public


def test_sm2_fingerprint_is_sm3_of_the_uncompressed_point() -> None:
    public = SM2PublicKey.from_raw(SM2_PUBLIC)
    expected = gmssl_sm3.sm3_hash(list(b"\x04" + SM2_PUBLIC))[:16]
    assert public.fingerprint() == expected
    assert len(public.fingerprint()) == 16
    assert SM2PrivateKey.generate().public_key().fingerprint() != public.fingerprint()


def _foreign_pems() -> dict[str, tuple[bytes, bytes]]:
    p256 = cryptography_ec.generate_private_key(cryptography_ec.SECP256R1())
    ed = ed25519.Ed25519PrivateKey.generate()
    spki = (serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    pkcs8 = (serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8)
    return {
        "p256": (
            p256.private_bytes(*pkcs8, serialization.NoEncryption()),
            p256.public_key().public_bytes(*spki),
        ),
        "ed25519": (
            ed.private_bytes(*pkcs8, serialization.NoEncryption()),
            ed.public_key().public_bytes(*spki),
        ),
        "junk": (b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", b"not pem"),
    }


@pytest.mark.parametrize("kind", ["p256", "ed25519", "junk"])
def test_sm2_from_pem_refuses_other_keys(kind: str) -> None:
    private_pem, public_pem = _foreign_pems()[kind]
    with pytest.raises(ValidationFailed):
        SM2PrivateKey.from_pem(private_pem)
    with pytest.raises(ValidationFailed):
        SM2PublicKey.from_pem(public_pem)


def test_sm2_from_pem_refuses_encrypted_keys_and_swapped_kinds() -> None:
    key = SM2PrivateKey.generate()
    encrypted = key._key.private_bytes(
        tongsuo_serialization.Encoding.PEM,
        tongsuo_serialization.PrivateFormat.PKCS8,
        tongsuo_serialization.BestAvailableEncryption(b"password"),
    )
    with pytest.raises(ValidationFailed, match="unencrypted"):
        SM2PrivateKey.from_pem(encrypted)
    with pytest.raises(ValidationFailed):
        SM2PrivateKey.from_pem(key.public_key().to_pem())
    with pytest.raises(ValidationFailed):
        SM2PublicKey.from_pem(key.to_pem())


def test_sm2_from_raw_refuses_wrong_length_and_points_off_the_curve() -> None:
    with pytest.raises(ValidationFailed, match="64 bytes"):
        SM2PublicKey.from_raw(SM2_PUBLIC[:-1])
    off_curve = SM2_PUBLIC[:-1] + bytes([SM2_PUBLIC[-1] ^ 1])
    with pytest.raises(ValidationFailed, match="not a point"):
        SM2PublicKey.from_raw(off_curve)


def test_sm2_private_value_n_minus_1_is_refused() -> None:
    # SM2 signing divides by (1 + d); d = n - 1 makes that zero.
    with pytest.raises(ValidationFailed, match="out of range"):
        _key_from_private_value(SM2_N - 1)


def test_sm2_public_key_is_immutable_and_compares_by_value() -> None:
    public = SM2PublicKey.from_raw(SM2_PUBLIC)
    with pytest.raises(AttributeError):
        public._raw = bytes(64)
    with pytest.raises(AttributeError):
        del public._key
    same = SM2PublicKey.from_pem(public.to_pem())
    assert same == public and hash(same) == hash(public)
    assert public != SM2PrivateKey.generate().public_key()
    assert len({public, same}) == 1


def test_sm2_private_key_repr_does_not_show_the_secret() -> None:
    key = _key_from_private_value(SM2_D)
    text = repr(key)
    assert f"{SM2_D:064x}" not in text.lower()
    assert key.public_key().fingerprint() in text


# --- the provider --------------------------------------------------------------------------------


def test_local_provider_implements_the_provider_interface() -> None:
    provider: CryptoProvider = LocalCryptoProvider()
    assert isinstance(provider, CryptoProvider)
    key = SM2PrivateKey.generate()
    signature = provider.sm2_sign(key, b"ledger head")
    assert provider.sm2_verify(key.public_key(), b"ledger head", signature)
    assert not provider.sm2_verify(key.public_key(), b"ledger head!", signature)
    assert SM2PublicKey.from_raw(key.public_key().raw()).verify(b"ledger head", signature)
