"""The API's error answers: `{"error": "<machine code>", "message": "<human text>"}` with the status."""

from __future__ import annotations

import json
from collections.abc import Mapping

from aiohttp import web

_STATUS: dict[int, type[web.HTTPException]] = {
    400: web.HTTPBadRequest, 401: web.HTTPUnauthorized, 403: web.HTTPForbidden, 404: web.HTTPNotFound,
    409: web.HTTPConflict, 415: web.HTTPUnsupportedMediaType, 422: web.HTTPUnprocessableEntity,
    429: web.HTTPTooManyRequests, 502: web.HTTPBadGateway, 503: web.HTTPServiceUnavailable,
}


def api_error(status: int, code: str, message: str, headers: Mapping[str, str] | None = None) -> web.HTTPException:
    """An exception to raise from a handler (aiohttp answers with it)."""
    return _STATUS[status](text=json.dumps({"error": code, "message": message}), content_type="application/json",
                           headers=headers)


async def json_body(request: web.Request) -> dict[str, object]:
    """The request's JSON object (an empty body is `{}`); 400 when it is not a JSON object."""
    if not request.can_read_body:
        return {}
    try:
        body = await request.json()
    except ValueError as exc:
        raise api_error(400, "bad_json", "the body is not JSON") from exc
    if not isinstance(body, dict):
        raise api_error(400, "bad_json", "the body must be a JSON object")
    return body


def text_field(body: Mapping[str, object], name: str, *, max_length: int = 200) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value or len(value) > max_length:
        raise api_error(400, "bad_request", f"'{name}' must be a non-empty string of at most {max_length} characters")
    return value
