"""Signing failures the emulator must catch, and secrets that must never leak."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable

import pytest
import requests

from edgio_sandbox.edgio import EdgioEmulator
from edgio_sandbox.httpbase import Request
from reconciler.providers.base import AuthFailed
from reconciler.providers.edgio import EdgioCdn
from reconciler.providers.signing import (
    TIMESTAMP_HEADER,
    TOKEN_HEADER,
    InvalidSharedKey,
    LlnwAuth,
)
from reconciler.providers.transport import RetryPolicy
from tests.providers.edgio.conftest import SHORTNAME, client_for, make_rule

HEX64 = re.compile(r"[0-9a-fA-F]{64}")
OTHER_KEY = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"


def listing(emulator: EdgioEmulator) -> str:
    return f"{emulator.api_url}/svcinst/delivery/shortname/{SHORTNAME}?size=100&page=1"


def send_signed(
    emulator: EdgioEmulator,
    prepared: requests.PreparedRequest,
    tamper: Callable[[requests.PreparedRequest], None] = lambda _: None,
    auth: LlnwAuth | None = None,
) -> requests.Response:
    signer = auth or LlnwAuth(emulator.principal, emulator.shared_key_hex)
    signed = signer(prepared)
    tamper(signed)
    with requests.Session() as session:
        return session.send(signed, timeout=5)


def assert_denied(response: requests.Response, code: int) -> None:
    assert response.status_code == 401
    assert response.json()["errors"][0]["code"] == code


def assert_no_secret(text: str, emulator: EdgioEmulator) -> None:
    assert emulator.shared_key_hex not in text
    assert emulator.shared_key_hex.upper() not in text
    assert HEX64.search(text) is None, "no key or token (64 hex digits) may appear"


def test_a_correctly_signed_request_passes(emulator: EdgioEmulator) -> None:
    response = send_signed(emulator, requests.Request("GET", listing(emulator)).prepare())
    assert response.status_code == 200


def test_missing_headers(emulator: EdgioEmulator) -> None:
    assert_denied(requests.get(listing(emulator), timeout=5), 1024)


def test_wrong_key(emulator: EdgioEmulator) -> None:
    auth = LlnwAuth(emulator.principal, OTHER_KEY)
    response = send_signed(
        emulator, requests.Request("GET", listing(emulator)).prepare(), auth=auth
    )
    assert_denied(response, 1026)
    assert_no_secret(response.text, emulator)


def test_wrong_principal(emulator: EdgioEmulator) -> None:
    auth = LlnwAuth("someone-else", emulator.shared_key_hex)
    response = send_signed(
        emulator, requests.Request("GET", listing(emulator)).prepare(), auth=auth
    )
    assert_denied(response, 1024)


@pytest.mark.parametrize("skew", [-301.0, 301.0])
def test_stale_and_future_timestamps(emulator: EdgioEmulator, skew: float) -> None:
    auth = LlnwAuth(emulator.principal, emulator.shared_key_hex, clock=lambda: time.time() + skew)
    response = send_signed(
        emulator, requests.Request("GET", listing(emulator)).prepare(), auth=auth
    )
    assert_denied(response, 1010)


def test_the_window_is_configurable() -> None:
    with EdgioEmulator(timestamp_window=5.0) as emulator:
        for skew, status in [(-3.0, 200), (-8.0, 401), (8.0, 401)]:
            auth = LlnwAuth(
                emulator.principal, emulator.shared_key_hex, clock=lambda s=skew: time.time() + s
            )
            prepared = requests.Request("GET", listing(emulator)).prepare()
            assert send_signed(emulator, prepared, auth=auth).status_code == status


def test_non_numeric_timestamp(emulator: EdgioEmulator) -> None:
    def bad_timestamp(request: requests.PreparedRequest) -> None:
        request.headers["X-LLNW-Security-Timestamp"] = "yesterday"

    prepared = requests.Request("GET", listing(emulator)).prepare()
    assert_denied(send_signed(emulator, prepared, bad_timestamp), 1010)


def test_tampered_body(emulator: EdgioEmulator) -> None:
    url = f"{emulator.api_url}/svcinst/delivery/validate"
    prepared = requests.Request("POST", url, data=b'{"body":{"a":1}}').prepare()

    def tamper(request: requests.PreparedRequest) -> None:
        request.body = b'{"body":{"a":2}}'

    assert_denied(send_signed(emulator, prepared, tamper), 1026)


def test_tampered_query(emulator: EdgioEmulator) -> None:
    prepared = requests.Request("GET", listing(emulator)).prepare()

    def tamper(request: requests.PreparedRequest) -> None:
        request.url = (request.url or "").replace("page=1", "page=2")

    assert_denied(send_signed(emulator, prepared, tamper), 1026)


@pytest.mark.parametrize("signed_for", ["http://localhost:{port}", "http://127.0.0.1:{other}"])
def test_url_signed_for_another_host_or_port(emulator: EdgioEmulator, signed_for: str) -> None:
    base = signed_for.format(port=emulator.port, other=emulator.port + 1)
    path = f"/config-api/v1/svcinst/delivery/shortname/{SHORTNAME}"
    prepared = requests.Request("GET", base + path).prepare()

    def readdress(request: requests.PreparedRequest) -> None:
        request.url = emulator.url + path

    assert_denied(send_signed(emulator, prepared, readdress), 1026)


def test_client_with_wrong_key_fails_without_leaking(
    emulator: EdgioEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    cdn = client_for(emulator, key=OTHER_KEY)
    with pytest.raises(AuthFailed) as caught:
        cdn.create_rule(make_rule())
    error = caught.value
    assert error.status == 401 and "invalid token" in str(error)
    for text in (str(error), repr(error), error.message, caplog.text, repr(cdn)):
        assert OTHER_KEY not in text
        assert HEX64.search(text) is None
    assert emulator.instances() == []


def test_client_with_wrong_user_is_auth_failed(emulator: EdgioEmulator) -> None:
    with pytest.raises(AuthFailed, match="unknown principal"):
        client_for(emulator, user="intruder").list_rules(SHORTNAME)


def test_client_repr_hides_the_key(emulator: EdgioEmulator, cdn: EdgioCdn) -> None:
    assert_no_secret(repr(cdn), emulator)
    assert_no_secret(str(cdn), emulator)


def test_client_refuses_a_key_that_is_not_hex_without_echoing_it() -> None:
    secret = "my-secret-password"
    with pytest.raises(InvalidSharedKey) as caught:
        EdgioCdn("edgio-ingress", secret)
    assert secret not in str(caught.value)


def test_every_retry_is_signed_again(emulator: EdgioEmulator) -> None:
    """Each attempt carries its own timestamp and token, and the last one is accepted."""
    cdn = client_for(emulator, policy=RetryPolicy(attempts=3, initial_wait=0.01, max_wait=0.02))
    seen: list[tuple[str, str]] = []
    count = emulator.count

    def record(request: Request) -> None:
        seen.append((request.headers[TIMESTAMP_HEADER], request.headers[TOKEN_HEADER]))
        count(request)

    emulator.count = record  # type: ignore[method-assign]
    emulator.faults.add(status=503, times=2, method="GET")
    assert cdn.list_rules(SHORTNAME) == []
    assert len(seen) == 3
    assert len({timestamp for timestamp, _ in seen}) == 3
    assert len({token for _, token in seen}) == 3
