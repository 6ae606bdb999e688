"""Signed requests: the canonical request, HMAC-SM3 signatures, and every way a call is refused."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable

import pytest

from rongshu.core.errors import NotAuthenticated, ValidationFailed
from rongshu.exchange.signing import (
    SignatureHeaders,
    canonical_query,
    canonical_request,
    read_signature_headers,
    sign,
    signed_headers,
    verify_signature,
)

# Secrets are token_urlsafe, so they may hold underscores: only the first two split the key.
API_KEY = "rsk_0123456789abcdef_s3cr_et-Value_9"
SECRET = "s3cr_et-Value_9"
OTHER_API_KEY = "rsk_fedcba9876543210_another-secret"
NOW = 1_735_689_600.0  # 2025-01-01 08:00 Beijing
WINDOW = 300
SM3_OF_NOTHING = "1ab21d8355cfa17f8e61194831e81a8f22bec8c728fefb747ed035eb5082aa2b"


class RememberedNonces:
    """A NonceStore in a dict (the real ones are tested against SQLite, PostgreSQL and Redis)."""

    def __init__(self) -> None:
        self.seen: set[tuple[str, str]] = set()

    def claim(self, key_id: str, nonce: str, ttl_seconds: int) -> bool:
        assert ttl_seconds > 0
        if (key_id, nonce) in self.seen:
            return False
        self.seen.add((key_id, nonce))
        return True


def check(
    headers: dict[str, str],
    *,
    method: str = "POST",
    path: str = "/api/v1/exchange/verify",
    query: str = "service=GA-9001-verify",
    body: bytes = b'{"id_number": "350102199001011234"}',
    nonces: RememberedNonces | None = None,
    now: float = NOW,
) -> None:
    """Verify a call as the server would, with the secret it would open for the key."""
    signed = read_signature_headers(headers)
    secret = SECRET if signed.key_id == "0123456789abcdef" else "another-secret"
    verify_signature(
        signed,
        secret=secret,
        method=method,
        path=path,
        query=query,
        body=body,
        nonces=nonces if nonces is not None else RememberedNonces(),
        window=WINDOW,
        now=now,
    )


def headers_for(
    api_key: str = API_KEY,
    body: bytes = b'{"id_number": "350102199001011234"}',
    now: float = NOW,
) -> dict[str, str]:
    return signed_headers(
        api_key, "post", "/api/v1/exchange/verify?service=GA-9001-verify", body, now=now
    )


def refusal(call: Callable[[], object]) -> NotAuthenticated:
    with pytest.raises(NotAuthenticated) as caught:
        call()
    return caught.value


def test_canonical_request_has_the_documented_lines() -> None:
    text = canonical_request(
        "get", "/api/v1/exchange/q%20uery", "b=2&a=1", 1735689600, "n" * 16, b""
    )
    assert (
        text
        == (
            f"GET\n/api/v1/exchange/q%20uery\na=1&b=2\n1735689600\n{'n' * 16}\n{SM3_OF_NOTHING}"
        ).encode()
    )


def test_query_is_canonical_however_the_client_wrote_it() -> None:
    expected = "a=~&b=%E5%90%8D%20%E5%AD%97&b=1&c="
    assert canonical_query("c=&b=%E5%90%8D+%E5%AD%97&a=%7E&b=1") == expected
    assert canonical_query([("b", "1"), ("a", "~"), ("c", ""), ("b", "名 字")]) == expected
    assert canonical_query("") == ""


def test_signature_is_hmac_sm3_of_the_canonical_request_with_the_secret() -> None:
    if "sm3" not in hashlib.algorithms_available:
        pytest.skip("this OpenSSL has no SM3 to cross-check against")
    args = ("POST", "/p", "x=1", 1735689600, "abcdefghijklmnop", b"body")
    independent = hmac.new(SECRET.encode(), canonical_request(*args), "sm3").hexdigest()
    assert sign(SECRET, *args) == independent


def test_signed_headers_round_trip() -> None:
    headers = headers_for()
    assert headers["X-App-Key"] == "0123456789abcdef"
    assert headers["X-Timestamp"] == "1735689600"
    check(headers)  # accepted: no exception
    assert headers_for()["X-Nonce"] != headers["X-Nonce"], "a fresh nonce for every call"


def test_header_names_are_case_insensitive() -> None:
    check({name.lower(): value for name, value in headers_for().items()})


def _without(name: str) -> Callable[[dict[str, str]], None]:
    def spoil(headers: dict[str, str]) -> None:
        del headers[name]

    return spoil


def _with(name: str, value: str) -> Callable[[dict[str, str]], None]:
    def spoil(headers: dict[str, str]) -> None:
        headers[name] = value

    return spoil


HEADER_PROBLEMS = {
    "missing key": (_without("X-App-Key"), "missing X-App-Key header"),
    "missing timestamp": (_without("X-Timestamp"), "missing X-Timestamp header"),
    "missing nonce": (_without("X-Nonce"), "missing X-Nonce header"),
    "missing signature": (_without("X-Signature"), "missing X-Signature header"),
    "whole API key sent": (_with("X-App-Key", API_KEY), "never the whole API key"),
    "malformed key": (_with("X-App-Key", "key id!"), "malformed X-App-Key"),
    "timestamp as a date": (_with("X-Timestamp", "2025-01-01T00:00"), "malformed X-Timestamp"),
    "short nonce": (_with("X-Nonce", "abc"), "malformed X-Nonce"),
    "nonce with spaces": (_with("X-Nonce", "a nonce with spaces"), "malformed X-Nonce"),
    "upper-case signature": (_with("X-Signature", "AB" * 32), "malformed X-Signature"),
    "short signature": (_with("X-Signature", "ab" * 16), "malformed X-Signature"),
}


@pytest.mark.parametrize("problem", HEADER_PROBLEMS)
def test_each_header_problem_says_what_is_wrong(problem: str) -> None:
    headers = headers_for()
    spoil, expected = HEADER_PROBLEMS[problem]
    spoil(headers)
    error = refusal(lambda: check(headers))
    assert expected in error.message
    assert error.status == 401


def test_header_problems_have_distinct_messages() -> None:
    messages = set()
    for spoil, _ in HEADER_PROBLEMS.values():
        headers = headers_for()
        spoil(headers)
        messages.add(refusal(lambda headers=headers: check(headers)).message)
    distinct_problems = {expected for _, expected in HEADER_PROBLEMS.values()}
    assert len(messages) == len(distinct_problems)


@pytest.mark.parametrize("offset", [-(WINDOW + 1), WINDOW + 1])
def test_stale_and_future_timestamps_are_refused(offset: int) -> None:
    headers = headers_for(now=NOW + offset)
    error = refusal(lambda: check(headers))
    assert error.message.startswith("stale X-Timestamp")
    assert ("behind" if offset < 0 else "ahead of") in error.message
    assert error.details == [{"header": "X-Timestamp", "reason": "stale"}]


def test_a_timestamp_at_the_edge_of_the_window_is_accepted() -> None:
    check(headers_for(now=NOW - WINDOW))
    check(headers_for(now=NOW + WINDOW))


@pytest.mark.parametrize(
    "change",
    [
        {"body": b'{"id_number": "350102199001011235"}'},
        {"method": "PUT"},
        {"path": "/api/v1/exchange/query"},
        {"query": "service=GA-9002-verify"},
    ],
    ids=["body", "method", "path", "query"],
)
def test_changing_any_signed_part_breaks_the_signature(change: dict[str, object]) -> None:
    error = refusal(lambda: check(headers_for(), **change))  # type: ignore[arg-type]
    assert error.message.startswith("bad X-Signature")


def test_a_signature_made_with_another_secret_is_refused() -> None:
    headers = headers_for()
    headers["X-Signature"] = sign(
        "guessed", "POST", "/api/v1/exchange/verify", "service=GA-9001-verify",
        int(NOW), headers["X-Nonce"], b'{"id_number": "350102199001011234"}',
    )  # fmt: skip
    assert refusal(lambda: check(headers)).message.startswith("bad X-Signature")


def test_a_replay_within_the_window_is_refused_and_another_key_may_use_the_nonce() -> None:
    nonces = RememberedNonces()
    headers = headers_for()
    check(headers, nonces=nonces)
    error = refusal(lambda: check(headers, nonces=nonces, now=NOW + 10))
    assert error.message.startswith("replayed X-Nonce")

    other = signed_headers(
        OTHER_API_KEY,
        "POST",
        "/api/v1/exchange/verify?service=GA-9001-verify",
        b'{"id_number": "350102199001011234"}',
        now=NOW,
    )
    other["X-Nonce"] = headers["X-Nonce"]
    other["X-Signature"] = sign(
        "another-secret", "POST", "/api/v1/exchange/verify", "service=GA-9001-verify",
        int(NOW), headers["X-Nonce"], b'{"id_number": "350102199001011234"}',
    )  # fmt: skip
    check(other, nonces=nonces)


def test_a_forged_call_does_not_use_up_the_nonce() -> None:
    nonces = RememberedNonces()
    genuine = headers_for()
    forged = dict(genuine, **{"X-Signature": "0" * 64})
    refusal(lambda: check(forged, nonces=nonces))
    check(genuine, nonces=nonces)


def test_the_nonce_is_remembered_until_the_timestamp_goes_stale() -> None:
    remembered: list[int] = []

    class Recording(RememberedNonces):
        def claim(self, key_id: str, nonce: str, ttl_seconds: int) -> bool:
            remembered.append(ttl_seconds)
            return super().claim(key_id, nonce, ttl_seconds)

    check(headers_for(now=NOW - 100), nonces=Recording())
    assert remembered == [WINDOW - 100 + 1]


def test_signed_headers_refuse_a_malformed_api_key() -> None:
    with pytest.raises(ValidationFailed, match="rsk_<key id>_<secret>"):
        signed_headers("sk-0123", "GET", "/api/v1/exchange/services")


def test_parsed_headers_keep_the_values_sent() -> None:
    headers = headers_for()
    assert read_signature_headers(headers) == SignatureHeaders(
        "0123456789abcdef", int(NOW), headers["X-Nonce"], headers["X-Signature"]
    )
