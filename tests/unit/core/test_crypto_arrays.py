"""The vectorised masking kernels give, value for value, what ``rongshu.core.crypto`` gives:
the same HMAC-SM3 pseudonyms, and SM4-GCM tokens that either side can decrypt."""

from __future__ import annotations

import secrets
from collections.abc import Callable

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rongshu.core.crypto import LocalCryptoProvider, hmac_sm3, sm3
from rongshu.core.crypto_arrays import (
    HmacSm3Pseudonymiser,
    hex_bytes,
    hex_strings,
    sm3_digests,
    sm4_gcm_decrypt_array,
    sm4_gcm_encrypt_array,
)
from rongshu.core.errors import ValidationFailed

HMAC_KEY = b"rongshu-masking-key"
SM4_KEY = bytes.fromhex("0123456789abcdeffedcba9876543210")
PROVIDER = LocalCryptoProvider()

# Byte lengths around SM3's block edges: a 55-byte value still fits one padded block after the
# 64-byte key block, 56 needs two; 119/120 are the same edge one block later.
EDGE_VALUES: list[str | None] = [
    "",
    "a",
    "110101199003077777",
    "x" * 55,
    "x" * 56,
    "x" * 63,
    "x" * 64,
    "x" * 65,
    "y" * 119,
    "y" * 120,
    "y" * 200,
    None,
    "福州市鼓楼区五四路",
    "张三" * 20,  # 120 bytes of three-byte characters
    "emoji 😀 and 中文",
    None,
    "tab\tand\0nul",
]

LAYOUTS: dict[str, Callable[[list[str | None]], pa.Array | pa.ChunkedArray]] = {
    "string": lambda values: pa.array(values, pa.string()),
    "large_string": lambda values: pa.array(values, pa.large_string()),
    # Offset 3 is not a whole byte of the validity bitmap.
    "sliced": lambda values: pa.array(["head", None, "x"] + values + ["tail"]).slice(
        3, len(values)
    ),
    "large_string_sliced": lambda values: pa.array(
        [None] * 11 + values + [None], pa.large_string()
    ).slice(11, len(values)),
    "chunked": lambda values: pa.chunked_array([values[:5], [], values[5:]], type=pa.string()),
}

# Up to 150 characters is up to 600 UTF-8 bytes: values of one to ten SM3 blocks.
text_values = st.lists(st.one_of(st.none(), st.text(max_size=150)), min_size=40, max_size=120)


def expected_pseudonyms(key: bytes, values: list[str | None]) -> list[str | None]:
    return [None if v is None else hmac_sm3(key, v.encode()).hex() for v in values]


# --- HMAC-SM3 pseudonyms -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def pseudonymise() -> HmacSm3Pseudonymiser:
    return HmacSm3Pseudonymiser(HMAC_KEY)


def test_pseudonyms_match_core_hmac_sm3_for_every_length_across_three_blocks(
    pseudonymise: HmacSm3Pseudonymiser,
) -> None:
    values: list[str | None] = ["v" * n for n in range(200)]
    result = pseudonymise(pa.array(values))
    assert result.type == pa.string()
    assert result.to_pylist() == expected_pseudonyms(HMAC_KEY, values)


@pytest.mark.parametrize("layout", LAYOUTS, ids=str)
def test_pseudonyms_match_core_in_every_arrow_layout(
    pseudonymise: HmacSm3Pseudonymiser, layout: str
) -> None:
    result = pseudonymise(LAYOUTS[layout](EDGE_VALUES))
    assert isinstance(result, pa.Array)  # one array even for chunked input, as UDFs return
    assert result.type == pa.string()
    assert result.null_count == EDGE_VALUES.count(None)
    assert result.to_pylist() == expected_pseudonyms(HMAC_KEY, EDGE_VALUES)


@pytest.mark.parametrize(
    "key",
    [b"", b"k", b"K" * 64, b"L" * 65, secrets.token_bytes(200)],
    ids=["empty", "one-byte", "block-sized", "one-over-a-block", "long-random"],
)
def test_keys_of_any_length_match_core_hmac(key: bytes) -> None:
    # Keys longer than SM3's 64-byte block are hashed first (RFC 2104).
    result = HmacSm3Pseudonymiser(key)(pa.array(EDGE_VALUES))
    assert result.to_pylist() == expected_pseudonyms(key, EDGE_VALUES)


@settings(max_examples=60, deadline=None)
@given(key=st.binary(max_size=100), values=text_values)
def test_pseudonyms_match_core_on_random_keys_and_text(
    key: bytes, values: list[str | None]
) -> None:
    result = HmacSm3Pseudonymiser(key)(pa.array(values, pa.string()))
    assert result.to_pylist() == expected_pseudonyms(key, values)


def test_pseudonyms_are_lowercase_hex_and_depend_on_the_key(
    pseudonymise: HmacSm3Pseudonymiser,
) -> None:
    ours = pseudonymise(pa.array(["110101199003077777"]))[0].as_py()
    assert len(ours) == 64
    assert ours == ours.lower()
    other = HmacSm3Pseudonymiser(b"another key")(pa.array(["110101199003077777"]))[0].as_py()
    assert other != ours


def test_pseudonymiser_does_not_show_its_key() -> None:
    assert "secret" not in repr(HmacSm3Pseudonymiser(b"secret"))


def test_an_empty_array_gives_an_empty_string_array(pseudonymise: HmacSm3Pseudonymiser) -> None:
    result = pseudonymise(pa.array([], pa.string()))
    assert result.type == pa.string()
    assert len(result) == 0


def test_an_array_that_is_not_text_is_refused(pseudonymise: HmacSm3Pseudonymiser) -> None:
    with pytest.raises(TypeError, match="int64"):
        pseudonymise(pa.array([1, 2]))


# --- SM4-GCM ----------------------------------------------------------------------------------


@pytest.mark.parametrize("layout", LAYOUTS, ids=str)
@pytest.mark.parametrize("aad", [None, b"resource:42/field:id_number"], ids=["no-aad", "aad"])
def test_core_crypto_decrypts_our_tokens_in_every_arrow_layout(
    layout: str, aad: bytes | None
) -> None:
    tokens = sm4_gcm_encrypt_array(SM4_KEY, LAYOUTS[layout](EDGE_VALUES), aad)
    assert tokens.type == pa.binary()
    decrypted = [
        None
        if token is None
        else PROVIDER.sm4_gcm_decrypt(SM4_KEY, token, associated_data=aad).decode()
        for token in tokens.to_pylist()
    ]
    assert decrypted == EDGE_VALUES


def test_tokens_are_nonce_ciphertext_tag_sized() -> None:
    tokens = sm4_gcm_encrypt_array(SM4_KEY, pa.array(EDGE_VALUES)).to_pylist()
    for value, token in zip(EDGE_VALUES, tokens, strict=True):
        if value is None:
            assert token is None
        else:
            assert len(token) == 12 + len(value.encode()) + 16


def test_we_decrypt_core_crypto_tokens() -> None:
    aad = b"batch-7"
    tokens = [
        None if v is None else PROVIDER.sm4_gcm_encrypt(SM4_KEY, v.encode(), associated_data=aad)
        for v in EDGE_VALUES
    ]
    result = sm4_gcm_decrypt_array(SM4_KEY, pa.array(tokens, pa.binary()), aad)
    assert result.type == pa.string()
    assert result.to_pylist() == EDGE_VALUES


@settings(max_examples=40, deadline=None)
@given(values=text_values, aad=st.one_of(st.none(), st.binary(max_size=40)))
def test_core_and_our_decrypt_undo_encrypt_on_random_text(
    values: list[str | None], aad: bytes | None
) -> None:
    tokens = sm4_gcm_encrypt_array(SM4_KEY, pa.array(values, pa.string()), aad)
    assert sm4_gcm_decrypt_array(SM4_KEY, tokens, aad).to_pylist() == values
    by_core = [
        None if token is None else PROVIDER.sm4_gcm_decrypt(SM4_KEY, token, associated_data=aad)
        for token in tokens.to_pylist()
    ]
    assert by_core == [None if v is None else v.encode() for v in values]


def test_decrypt_reads_sliced_chunked_and_large_binary_tokens() -> None:
    tokens = sm4_gcm_encrypt_array(SM4_KEY, pa.array(EDGE_VALUES))
    padded = pa.concat_arrays([pa.array([b"junk", None], pa.binary()), tokens])
    layouts = [
        padded.slice(2),
        tokens.cast(pa.large_binary()),
        pa.chunked_array([tokens.slice(0, 4), tokens.slice(4)]),
    ]
    for layout in layouts:
        assert sm4_gcm_decrypt_array(SM4_KEY, layout).to_pylist() == EDGE_VALUES


def test_the_same_value_encrypts_differently_every_time() -> None:
    tokens = sm4_gcm_encrypt_array(SM4_KEY, pa.array(["110101199003077777"] * 50)).to_pylist()
    assert len(set(tokens)) == 50
    assert len({token[:12] for token in tokens}) == 50  # a fresh nonce for each value


def _tampered(tokens: pa.Array, rows: set[int]) -> pa.Array:
    """The tokens with the last byte of the ciphertext of ``rows`` flipped."""
    changed = []
    for row, token in enumerate(tokens.to_pylist()):
        if row in rows:
            token = token[:-17] + bytes([token[-17] ^ 1]) + token[-16:]
        changed.append(token)
    return pa.array(changed, pa.binary())


def test_altered_tokens_are_all_counted_and_nothing_is_returned() -> None:
    values = [f"value {n}" for n in range(300)]
    tokens = sm4_gcm_encrypt_array(SM4_KEY, pa.array(values))
    with pytest.raises(ValidationFailed) as raised:
        sm4_gcm_decrypt_array(SM4_KEY, _tampered(tokens, {0, 150, 299}))
    assert raised.value.details == [
        {"field": "token", "reason": "authentication_failed", "count": 3}
    ]
    assert "3 of 300" in raised.value.message


def test_an_altered_tag_fails_authentication() -> None:
    token = sm4_gcm_encrypt_array(SM4_KEY, pa.array(["abc"]))[0].as_py()
    altered = token[:-1] + bytes([token[-1] ^ 0x80])
    with pytest.raises(ValidationFailed, match="could not be decrypted"):
        sm4_gcm_decrypt_array(SM4_KEY, pa.array([altered]))


@pytest.mark.parametrize(
    ("key", "aad"),
    [(bytes(16), b"ctx"), (SM4_KEY, b"other ctx"), (SM4_KEY, None)],
    ids=["wrong-key", "wrong-aad", "missing-aad"],
)
def test_wrong_key_or_associated_data_fails_authentication(key: bytes, aad: bytes | None) -> None:
    tokens = sm4_gcm_encrypt_array(SM4_KEY, pa.array(["a", None, "b"]), b"ctx")
    with pytest.raises(ValidationFailed) as raised:
        sm4_gcm_decrypt_array(key, tokens, aad)
    assert raised.value.details == [
        {"field": "token", "reason": "authentication_failed", "count": 2}
    ]


def test_too_short_tokens_are_refused() -> None:
    good = sm4_gcm_encrypt_array(SM4_KEY, pa.array(["ok"]))[0].as_py()
    tokens = pa.array([good, b"", b"x" * 27, None], pa.binary())
    with pytest.raises(ValidationFailed) as raised:
        sm4_gcm_decrypt_array(SM4_KEY, tokens)
    assert raised.value.details == [{"field": "token", "reason": "too_short", "count": 2}]


def test_a_plaintext_that_is_not_utf8_is_refused() -> None:
    token = PROVIDER.sm4_gcm_encrypt(SM4_KEY, b"\xff\xfe not text")
    with pytest.raises(ValidationFailed) as raised:
        sm4_gcm_decrypt_array(SM4_KEY, pa.array([token]))
    assert raised.value.details == [{"field": "token", "reason": "not_utf8"}]


@pytest.mark.parametrize("length", [0, 15, 17, 32])
def test_an_sm4_key_of_the_wrong_length_is_refused(length: int) -> None:
    key = bytes(length)
    for call in (sm4_gcm_encrypt_array, sm4_gcm_decrypt_array):
        with pytest.raises(ValidationFailed) as raised:
            call(key, pa.array([], pa.binary()))
        assert raised.value.details == [
            {"field": "key", "reason": "wrong_length", "length": length}
        ]


def test_empty_arrays_round_trip() -> None:
    tokens = sm4_gcm_encrypt_array(SM4_KEY, pa.array([], pa.string()))
    assert tokens.type == pa.binary()
    assert len(tokens) == 0
    assert sm4_gcm_decrypt_array(SM4_KEY, tokens).to_pylist() == []


def test_a_shorter_pseudonym_is_the_full_one_cut() -> None:
    values = pa.array(["350102199001011234", None, "", "张三" * 40])
    full = HmacSm3Pseudonymiser(b"k" * 32)(values).to_pylist()
    short = HmacSm3Pseudonymiser(b"k" * 32, length=32)(values).to_pylist()
    assert short == [None if v is None else v[:32] for v in full]
    with pytest.raises(ValidationFailed):
        HmacSm3Pseudonymiser(b"k" * 32, length=65)


def test_hex_text_goes_both_ways_keeping_nulls_and_slices() -> None:
    values = pa.array([b"\x00\xff", None, b"", secrets.token_bytes(40), None, b"z"])[1:]
    written = hex_strings(values, "sm4gcm:v1:")
    assert written.to_pylist() == [
        None if v is None else "sm4gcm:v1:" + v.hex() for v in values.to_pylist()
    ]
    plain = hex_strings(values, "")
    assert hex_bytes(plain).to_pylist() == values.to_pylist()
    assert hex_bytes(pa.array(["0A0b"])).to_pylist() == [b"\n\x0b"]
    for bad in ("abc", "zz", "0g"):
        with pytest.raises(ValidationFailed):
            hex_bytes(pa.array([bad]))


def test_sm3_digests_equal_sm3_of_each_value_at_every_padding_boundary() -> None:
    values = ["", "a" * 55, "b" * 56, "c" * 64, "d" * 119, "榕" * 333, "x" * 1000]
    digests = sm3_digests(pa.array(values))
    assert digests.shape == (len(values), 32)
    assert [row.tobytes() for row in digests] == [sm3(v.encode()) for v in values]
    chunked = pa.chunked_array([values[:3], values[3:]])
    assert [row.tobytes() for row in sm3_digests(chunked)] == [sm3(v.encode()) for v in values]
    with pytest.raises(ValidationFailed, match="nulls"):
        sm3_digests(pa.array(["a", None]))
