"""One JSON error shape for the whole API: {"error": {"code", "message", "fields"?}}.

Domain errors raised by services become 4xx answers here, so views never
translate errors themselves and a client always gets a body that says what is wrong.
"""

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from orderahead.errors import DomainError, TooManyAttempts


def _first_message(detail) -> str:
    if isinstance(detail, list) and detail:
        return _first_message(detail[0])
    if isinstance(detail, dict) and detail:
        key, value = next(iter(detail.items()))
        inner = _first_message(value)
        return inner if key in ("non_field_errors", "detail") else f"{key}: {inner}"
    return str(detail)


def exception_handler(exc, context):
    if isinstance(exc, DomainError):
        body = {"error": {"code": exc.code, "message": exc.message}}
        if exc.fields:
            body["error"]["fields"] = exc.fields
        headers = None
        if isinstance(exc, TooManyAttempts):
            body["error"]["retry_after_s"] = exc.retry_after_s
            headers = {"Retry-After": str(exc.retry_after_s)}
        return Response(body, status=exc.status, headers=headers)

    if isinstance(exc, RequestDataTooBig):
        # Django refuses to read a body over DATA_UPLOAD_MAX_MEMORY_SIZE; left alone it becomes an HTML 400.
        return error_response("too_large", f"The request body is larger than the {_upload_limit()} this API "
                                           "accepts.", status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)

    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a real bug: let Django log it and answer 500

    if isinstance(exc, exceptions.ValidationError):
        body = {"error": {"code": "invalid", "message": _first_message(exc.detail), "fields": exc.detail}}
    else:
        code = getattr(exc, "default_code", "error")
        body = {"error": {"code": code, "message": _first_message(response.data)}}
        if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
            body["error"]["retry_after_s"] = int(exc.wait + 0.999)
    response.data = body
    return response


def _upload_limit() -> str:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return f"{limit / 1_048_576:g} MiB" if limit else "size"


def error_response(code: str, message: str, http_status: int = status.HTTP_400_BAD_REQUEST) -> Response:
    return Response({"error": {"code": code, "message": message}}, status=http_status)


def json_error(code: str, message: str, http_status: int, *, retry_after_s: int | None = None) -> JsonResponse:
    """The one error shape for answers made outside DRF (URL handlers, middleware); with `retry_after_s`
    also in the body and as the Retry-After header."""
    body = {"code": code, "message": message}
    if retry_after_s is not None:
        body["retry_after_s"] = retry_after_s
    response = JsonResponse({"error": body}, status=http_status)
    if retry_after_s is not None:
        response["Retry-After"] = str(retry_after_s)
    return response


def not_found(request, exception=None):
    """404 for URLs no route matches (e.g. /api/stores/-1/): JSON under /api/, Django's page elsewhere."""
    from django.views.defaults import page_not_found

    if request.path.startswith("/api/"):
        return json_error("not_found", f"No such API address: {request.path}", 404)
    return page_not_found(request, exception)


def server_error(request):
    """500 under /api/ is still JSON, so clients never have to parse an HTML page."""
    from django.views.defaults import server_error as django_server_error

    if request.path.startswith("/api/"):
        return json_error("server_error", "Something went wrong on our side. Please try again; retrying with "
                                          "the same Idempotency-Key never orders twice.", 500)
    return django_server_error(request)
