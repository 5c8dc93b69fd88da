"""The server side of the X-LLNW-Security-* HMAC scheme, written from the API notes.

Kept apart from the product's signer on purpose: an emulator that verified with the
client's own code would accept any mistake that code makes. This one rebuilds the data
string as the service documents it (method, URL without its query, the query as sent,
timestamp, body) and compares tokens.
"""

from __future__ import annotations

import hashlib
import hmac

PRINCIPAL_HEADER = "X-LLNW-Security-Principal"
TIMESTAMP_HEADER = "X-LLNW-Security-Timestamp"
TOKEN_HEADER = "X-LLNW-Security-Token"


def key_bytes(shared_key_hex: str) -> bytes:
    """Control shows the shared key as hex; its decoded bytes are the HMAC key."""
    return bytes.fromhex(shared_key_hex)


def expected_token(
    shared_key_hex: str, method: str, url: str, timestamp: str, body: bytes | None
) -> str:
    """The lower-case hex token the service computes for a request it received."""
    without_query, _, query = url.partition("?")
    message = (method.upper() + without_query + query + timestamp).encode() + (body or b"")
    return hmac.new(key_bytes(shared_key_hex), message, hashlib.sha256).hexdigest()
