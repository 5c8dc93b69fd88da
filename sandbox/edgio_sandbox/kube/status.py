"""Errors as the API server sends them: a `kind: Status` body with a reason and a code.

Clients branch on `reason` and `code` (409 Conflict means re-read and retry, 410 means
re-list), so every failure the emulator produces goes through here.
"""

from __future__ import annotations

from typing import Any, NoReturn

from edgio_sandbox.httpbase import HttpError, Response

from .kinds import Kind


def status_body(
    code: int, reason: str, message: str, details: dict[str, Any] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    if details:
        body["details"] = details
    return body


def fail(code: int, reason: str, message: str, details: dict[str, Any] | None = None) -> NoReturn:
    raise HttpError(Response.json(code, status_body(code, reason, message, details)))


def _details(kind: Kind, name: str) -> dict[str, Any]:
    """As kube-apiserver writes them: the core group, "", is left out."""
    details = {"name": name, "group": kind.group, "kind": kind.plural}
    return details if kind.group else {"name": name, "kind": kind.plural}


def not_found(kind: Kind, name: str) -> NoReturn:
    fail(404, "NotFound", f'{kind.qualified()} "{name}" not found', _details(kind, name))


def already_exists(kind: Kind, name: str) -> NoReturn:
    message = f'{kind.qualified()} "{name}" already exists'
    fail(409, "AlreadyExists", message, _details(kind, name))


def conflict(kind: Kind, name: str, why: str) -> NoReturn:
    message = f'Operation cannot be fulfilled on {kind.qualified()} "{name}": {why}'
    fail(409, "Conflict", message, _details(kind, name))


def invalid(kind: Kind, name: str, causes: list[tuple[str, str]]) -> NoReturn:
    """422 naming each offending field path, as `kubectl` and clients print it."""
    text = ", ".join(f"{path}: {message}" if path else message for path, message in causes)
    details = _details(kind, name) | {
        "kind": kind.kind,
        "causes": [
            {"reason": "FieldValueInvalid", "message": message, "field": path}
            for path, message in causes
        ],
    }
    qualified = f"{kind.kind}.{kind.group}" if kind.group else kind.kind
    fail(422, "Invalid", f'{qualified} "{name}" is invalid: {text}', details)


def bad_request(message: str) -> NoReturn:
    fail(400, "BadRequest", message)


def forbidden(kind: Kind, name: str, why: str) -> NoReturn:
    message = f'{kind.qualified()} "{name}" is forbidden: {why}'
    fail(403, "Forbidden", message, _details(kind, name))


def method_not_allowed(
    message: str = "the server does not allow this method on the requested resource",
) -> NoReturn:
    fail(405, "MethodNotAllowed", message)


def unsupported_media_type(content_type: str) -> NoReturn:
    fail(
        415,
        "UnsupportedMediaType",
        f'the body of the request was in an unknown format: "{content_type}"',
    )


def expired(message: str) -> NoReturn:
    fail(410, "Expired", message)
