"""The signing scheme against the worked vectors of docs/edgio-config-api.md section 1.5."""

from __future__ import annotations

import pytest
import requests

from reconciler.providers.signing import (
    PRINCIPAL_HEADER,
    TIMESTAMP_HEADER,
    TOKEN_HEADER,
    InvalidSharedKey,
    LlnwAuth,
    data_string,
    sign,
)

KEY = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
TS = "1700000000000"
API = "https://apis.llnw.com/config-api/v1"
UUID = "3f2b6c1e-0000-4000-8000-000000000001"
SMALL_BODY = b'{"body":{"publishedHostname":"www.example.com"}}'

VECTORS = [
    (
        "V1",
        "GET",
        f"{API}/svcinst/delivery/shortname/exampleco?size=100&page=1",
        None,
        "1c27fcd2be53c4c0f65b8bd85c09ff1c9e624af5a8eed1df0d811d18c0fdd4d7",
    ),
    (
        "V2",
        "GET",
        f"{API}/svcinst/delivery/{UUID}",
        None,
        "1273e07c4d89aec11fad82986d54b4d1200807a810441c428fee70febe507cda",
    ),
    (
        "V3",
        "POST",
        f"{API}/svcinst/delivery/validate",
        SMALL_BODY,
        "73857fcff504fded6f9ea89afc7f2915877c803ef19a55c1eae114f0887b0f17",
    ),
    (
        "V4",
        "PUT",
        f"{API}/svcinst/delivery/{UUID}",
        SMALL_BODY,
        "bf8ddaba8e7304ea9327a4f775e8215496ac6f1651d727a313aef76fb4d887b3",
    ),
    (
        "V5",
        "DELETE",
        f"{API}/svcinst/delivery/{UUID}",
        b"null",
        "15ae633c66af462eefcbf4ad1d50ffd376eed9363af5b7ff6e5cc87bf59cc65a",
    ),
    (
        "V5b",
        "DELETE",
        f"{API}/svcinst/delivery/{UUID}",
        None,
        "f7dd52093512a51f5e6730ea0c475448c07664ad23108960d327982b765a5a96",
    ),
    (
        "V6",
        "GET",
        f"{API}/svcinst/delivery/shortname/exampleco/searchAuto"
        "?body.publishedHostname=www.example.com&body.publishedUrlPath=%2Fapp%2F",
        None,
        "37c9dce3bc243eb3d34c2c5c56b6fc3c0b162ff785035ae9aa6fd0ce933b5c8f",
    ),
    (
        "V7",
        "GET",
        "http://127.0.0.1:8080/config-api/v1/svcinst/delivery/shortname/exampleco?size=100&page=1",
        None,
        "ac46ba53b824dba58e5f3749a23a5da8e84c53cd5526f132d50845668eda1e6e",
    ),
    (
        "V8",
        "POST",
        f"{API}/svcinst/delivery/inheritance?parentId={UUID}",
        SMALL_BODY,
        "2da49b8a3ad435de96374d08b83025647c40ae66d94f9e8719b53f14b80a7e49",
    ),
]


@pytest.mark.parametrize(("name", "method", "url", "body", "token"), VECTORS)
def test_vectors(name: str, method: str, url: str, body: bytes | None, token: str) -> None:
    assert sign(KEY, data_string(method, url, TS, body)) == token


@pytest.mark.parametrize(("name", "method", "url", "body", "token"), VECTORS)
def test_auth_signs_the_prepared_request_like_the_vectors(
    name: str, method: str, url: str, body: bytes | None, token: str
) -> None:
    auth = LlnwAuth("k8s-controller", KEY, clock=lambda: 1_700_000_000.0)
    prepared = requests.Request(method, url, data=body).prepare()
    signed = auth(prepared)
    assert signed.headers[PRINCIPAL_HEADER] == "k8s-controller"
    assert signed.headers[TIMESTAMP_HEADER] == TS
    assert signed.headers[TOKEN_HEADER] == token


def test_auth_signs_the_query_as_requests_encodes_it() -> None:
    auth = LlnwAuth("k8s-controller", KEY, clock=lambda: 1_700_000_000.0)
    params = {"body.publishedHostname": "www.example.com", "body.publishedUrlPath": "/app/"}
    url = f"{API}/svcinst/delivery/shortname/exampleco/searchAuto"
    signed = auth(requests.Request("GET", url, params=params).prepare())
    assert signed.headers[TOKEN_HEADER] == VECTORS[6][4]


def test_data_strings() -> None:
    v1 = data_string("GET", VECTORS[0][2], TS, None)
    v3 = data_string("POST", VECTORS[2][2], TS, SMALL_BODY)
    assert v1 == (
        b"GEThttps://apis.llnw.com/config-api/v1/svcinst/delivery/shortname/exampleco"
        b"size=100&page=11700000000000"
    )
    assert v3 == (
        b"POSThttps://apis.llnw.com/config-api/v1/svcinst/delivery/validate1700000000000"
        b'{"body":{"publishedHostname":"www.example.com"}}'
    )


def test_upper_case_key_gives_the_same_token() -> None:
    data = data_string("GET", VECTORS[1][2], TS, None)
    assert sign(KEY.upper(), data) == VECTORS[1][4]


def test_each_signature_takes_a_fresh_timestamp() -> None:
    ticks = iter([1_700_000_000.0, 1_700_000_001.5])
    auth = LlnwAuth("k8s-controller", KEY, clock=lambda: next(ticks))
    first = auth(requests.Request("GET", VECTORS[1][2]).prepare())
    second = auth(requests.Request("GET", VECTORS[1][2]).prepare())
    assert first.headers[TIMESTAMP_HEADER] == TS
    assert second.headers[TIMESTAMP_HEADER] == "1700000001500"
    assert first.headers[TOKEN_HEADER] != second.headers[TOKEN_HEADER]


@pytest.mark.parametrize("bad", ["not-hex-at-all-secret", "abc", "zz" * 32])
def test_bad_hex_key_is_a_clear_error_that_does_not_echo_it(bad: str) -> None:
    with pytest.raises(InvalidSharedKey) as caught:
        LlnwAuth("k8s-controller", bad)
    message = str(caught.value)
    assert "not a hex string" in message
    assert bad not in message
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_empty_key_is_refused() -> None:
    with pytest.raises(InvalidSharedKey, match="empty"):
        sign("", b"data")


def test_repr_hides_the_key() -> None:
    auth = LlnwAuth("k8s-controller", KEY)
    assert KEY not in repr(auth)
