"""HMAC-SHA256 request signing of the Edgio (ex-Limelight) APIs.

The server recomputes the token from what it received, so we must sign exactly what
goes on the wire: the final URL (scheme, host, port when the URL carries one, path,
query as encoded) and the body bytes. Signing the prepared request, not our own view
of it, is what keeps the two equal; doing it in a `requests` auth hook means every
retry is signed again with a fresh timestamp.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable

import requests

PRINCIPAL_HEADER = "X-LLNW-Security-Principal"
TIMESTAMP_HEADER = "X-LLNW-Security-Timestamp"
TOKEN_HEADER = "X-LLNW-Security-Token"


class InvalidSharedKey(ValueError):
    """The shared key is not usable. The message describes it without quoting it."""


def decode_key(shared_key_hex: str) -> bytes:
    """The HMAC key: Control shows the shared key as hex, and the raw bytes are the key."""
    if not shared_key_hex:
        raise InvalidSharedKey("Edgio shared key is empty")
    try:
        return bytes.fromhex(shared_key_hex)
    except (ValueError, TypeError):
        raise InvalidSharedKey(
            f"Edgio shared key is not a hex string ({len(shared_key_hex)} characters); "
            "copy it from Control > My Account > Show my Shared Key"
        ) from None


def data_string(method: str, url: str, timestamp_ms: str, body: bytes | None) -> bytes:
    """METHOD + URL without query + query as sent + timestamp + body, no separators."""
    base, _, query = url.partition("?")
    head = method.upper() + base + query + timestamp_ms
    return head.encode() + (body or b"")


def sign(shared_key_hex: str, data: bytes) -> str:
    return _token(decode_key(shared_key_hex), data)


def _token(key: bytes, data: bytes) -> str:
    return hmac.new(key, data, hashlib.sha256).hexdigest()


def _body_bytes(body: object) -> bytes:
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode()
    raise TypeError("LlnwAuth signs only bytes or str bodies, not streamed ones")


class LlnwAuth(requests.auth.AuthBase):
    """Signs each prepared request for the X-LLNW-Security-* scheme."""

    def __init__(
        self,
        principal: str,
        shared_key_hex: str,
        clock: Callable[[], float] = time.time,
    ):
        self.principal = principal
        self._key = decode_key(shared_key_hex)
        self._clock = clock

    def __repr__(self) -> str:
        return f"LlnwAuth(principal={self.principal!r}, shared_key=<hidden>)"

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        timestamp = str(int(self._clock() * 1000))
        data = data_string(
            request.method or "GET", request.url or "", timestamp, _body_bytes(request.body)
        )
        request.headers[PRINCIPAL_HEADER] = self.principal
        request.headers[TIMESTAMP_HEADER] = timestamp
        request.headers[TOKEN_HEADER] = _token(self._key, data)
        return request
