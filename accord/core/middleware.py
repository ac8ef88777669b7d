"""Project-wide middleware: extra security headers and the viewer's time zone."""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

Handler = Callable[[HttpRequest], HttpResponse]


class SecurityHeadersMiddleware:
    """Headers Django's SecurityMiddleware does not set."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault(
            "Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()"
        )
        response.headers.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        if request.user.is_authenticated if hasattr(request, "user") else False:
            # Pages for signed-in people may hold restricted material: never cache them.
            response.headers.setdefault("Cache-Control", "no-store, private")
        return response


class UserTimezoneMiddleware:
    """Times are stored in UTC and shown in the viewer's own zone."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        name = settings.ACCORD_DEFAULT_TIMEZONE
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.timezone:
            name = user.timezone
        try:
            timezone.activate(zoneinfo.ZoneInfo(name))
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            timezone.deactivate()
        return self.get_response(request)


class PolicyExceptionMiddleware:
    """Turn the access policy's refusals into pages: 404 for what the viewer may
    not know exists, 403 with the policy's explanation otherwise."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        from django.shortcuts import render

        from accord.policy import NotVisible, PolicyDenied

        if isinstance(exception, NotVisible):
            return render(
                request, "core/error.html", {"status": 404, "title": "Not found"}, status=404
            )
        if isinstance(exception, PolicyDenied):
            return render(
                request,
                "core/error.html",
                {"status": 403, "title": "Not allowed", "message": exception.message},
                status=403,
            )
        return None


class ApiJsonErrorsMiddleware:
    """Under /api/, answers that Django or Ninja produce outside our handlers (an
    unknown path, a method the path does not take) are JSON ``{"detail": …}`` too."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not request.path.startswith("/api/") or response.status_code not in (404, 405):
            return response
        if response.get("Content-Type", "").startswith("application/json"):
            return response
        from django.http import JsonResponse

        if response.status_code == 405:
            allowed = response.get("Allow", "")
            detail = f"Method {request.method} is not allowed here; use one of: {allowed}."
        else:
            detail = "Not found."
        replacement = JsonResponse({"detail": detail}, status=response.status_code)
        if allowed_header := response.get("Allow"):
            replacement["Allow"] = allowed_header
        return replacement


NUL_MESSAGE = "NUL characters (\\u0000) are not accepted in text."
SURROGATE_MESSAGE = "Unpaired UTF-16 surrogates (\\ud800-\\udfff) are not accepted in text."
TOO_BIG_MESSAGE = "The request body is too large."
# \\uD800-\\uDBFF not followed by \\uDC00-\\uDFFF, or \\uDC00-\\uDFFF not preceded by a high one.
LONE_SURROGATE = re.compile(
    rb"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})"
    rb"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}"
)


class RejectNulCharactersMiddleware:
    """PostgreSQL text cannot hold NUL, and no legitimate text contains it: refuse
    it in paths, query strings and JSON bodies with a 400 before any view runs.
    (Django's form fields already refuse it in form posts; file uploads may hold
    any byte and are left alone.)"""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            problem = self._problem(request)
        except RequestDataTooBig:
            problem = (TOO_BIG_MESSAGE, 413)
        if problem:
            from django.http import JsonResponse

            message, status = problem
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": message}, status=status)
            return HttpResponse(message, status=status, content_type="text/plain")
        return self.get_response(request)

    @staticmethod
    def _problem(request: HttpRequest) -> tuple[str, int] | None:
        if "\x00" in request.path or "%00" in request.META.get("QUERY_STRING", ""):
            return NUL_MESSAGE, 400
        if any("\x00" in value for values in request.GET.lists() for value in values[1]):
            return NUL_MESSAGE, 400
        # TAXII reads its bodies as a stream and answers in its own media type.
        if request.content_type == "application/json" and not request.path.startswith("/taxii2/"):
            body = request.body
            if b"\x00" in body or b"\\u0000" in body:
                return NUL_MESSAGE, 400
            # A lone UTF-16 surrogate escape is valid JSON but no database can store it.
            if LONE_SURROGATE.search(body):
                return SURROGATE_MESSAGE, 400
        return None
