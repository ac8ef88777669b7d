"""Browser-facing hardening: headers, CSRF, caching, and nothing fetched from elsewhere."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from tests import factories as f

ACCORD = Path(__file__).resolve().parent.parent / "accord"
TEMPLATES = sorted(ACCORD.glob("**/templates/**/*.html"))
EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", re.IGNORECASE)
EXTERNAL_ASSET = re.compile(
    r"""<(?:script|link|img|iframe|source)\b[^>]*?(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""",
    re.IGNORECASE | re.DOTALL,
)


def csp_directives(response: Any) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


def test_the_home_page_carries_the_security_headers(db: Any, client: Client) -> None:
    response = client.get("/")
    assert response.status_code == 200
    csp = csp_directives(response)
    for directive in ("script-src", "style-src"):
        assert csp[directive] == ["'self'"], directive
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]
    assert "'unsafe-eval'" not in response["Content-Security-Policy"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["object-src"] == ["'none'"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "camera=()" in response["Permissions-Policy"]


def test_api_errors_carry_the_headers_too(db: Any, client: Client) -> None:
    response = client.get("/api/v1/organisations")
    assert response.status_code == 401
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize("name", ["core:dashboard", "accounts:profile", "membership:directory"])
def test_signed_in_pages_are_never_cached(client: Client, analyst: Any, name: str) -> None:
    f.login(client, analyst)
    response = client.get(reverse(name))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]


def test_the_public_home_page_may_be_cached(db: Any, client: Client) -> None:
    assert "no-store" not in client.get("/").get("Cache-Control", "")


def test_csrf_is_enforced_on_the_login_form(db: Any) -> None:
    user = f.make_user("csrfperson")
    client = Client(enforce_csrf_checks=True)
    credentials = {"username": user.username, "password": f.PASSWORD}

    refused = client.post(reverse("accounts:login"), credentials)
    assert refused.status_code == 403
    assert "_auth_user_id" not in client.session

    # With the token from the form, the same sign-in goes through.
    client.get(reverse("accounts:login"))
    token = client.cookies["csrftoken"].value
    accepted = client.post(reverse("accounts:login"), {**credentials, "csrfmiddlewaretoken": token})
    assert accepted.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)


def test_the_api_docs_load_their_assets_from_this_server(db: Any, client: Client) -> None:
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assets = re.findall(r"""<(?:script|link)\b[^>]*?(?:src|href)=["']([^"']+)""", html)
    assert assets, "the docs page loads Swagger UI"
    for url in assets:
        assert url.startswith("/static/"), url
    assert not EXTERNAL.search(html)


def test_no_template_loads_anything_from_another_host() -> None:
    assert len(TEMPLATES) > 10
    offenders = [
        str(path.relative_to(ACCORD))
        for path in TEMPLATES
        if EXTERNAL_ASSET.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_no_template_has_inline_script_or_style() -> None:
    """The CSP allows only 'self': inline code would be blocked by the browser."""
    inline_script = re.compile(r"<script\b(?![^>]*\bsrc=)(?![^>]*application/(?:ld\+)?json)[^>]*>")
    offenders = []
    for path in TEMPLATES:
        text = path.read_text(encoding="utf-8")
        if inline_script.search(text) or re.search(r"<style\b|\sstyle\s*=", text):
            offenders.append(str(path.relative_to(ACCORD)))
        if re.search(r"\son[a-z]+\s*=\s*[\"']", text):  # onclick= and friends
            offenders.append(str(path.relative_to(ACCORD)))
    assert offenders == []


def test_our_static_files_fetch_nothing_from_another_host() -> None:
    for path in (ACCORD / "static").glob("**/*"):
        if path.suffix in {".css", ".js"}:
            text = path.read_text(encoding="utf-8")
            assert not re.search(r"url\(\s*[\"']?(?:https?:)?//", text), path
            assert not re.search(r"@import\s+[\"']?(?:url\()?\s*[\"']?(?:https?:)?//", text), path


def test_api_method_and_path_errors_are_json(client: Any) -> None:
    wrong_method = client.put("/api/v1/sectors")
    assert wrong_method.status_code == 405
    assert "is not allowed" in wrong_method.json()["detail"]
    assert "GET" in wrong_method["Allow"]
    unknown = client.get("/api/v1/no-such-thing")
    assert unknown.status_code == 404
    assert unknown.json() == {"detail": "Not found."}


@pytest.mark.django_db
def test_nul_characters_are_refused_before_reaching_the_database(client: Any) -> None:
    body = client.post(
        "/api/v1/applications", data='{"name": "a\\u0000b"}', content_type="application/json"
    )
    assert body.status_code == 400
    assert "NUL" in body.json()["detail"]
    query = client.get("/api/v1/rules", {"q": "x\x00y"})
    assert query.status_code == 400
    path = client.get("/rules/char%00ter/")
    assert path.status_code == 400


@pytest.mark.django_db
def test_lone_surrogates_and_oversized_bodies_get_json_errors(client: Any, settings: Any) -> None:
    from accord.membership.models import Organisation

    before = Organisation.objects.count()
    lone = client.post(
        "/api/v1/applications", data='{"name": "a\\ud800b"}', content_type="application/json"
    )
    assert lone.status_code == 400
    assert "surrogate" in lone.json()["detail"]
    # A proper pair (an emoji written as escapes) is fine as far as this check goes.
    pair = client.post(
        "/api/v1/applications", data='{"name": "\\ud83d\\ude00"}', content_type="application/json"
    )
    assert pair.status_code != 400 or "surrogate" not in pair.json()["detail"]
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    big = client.post(
        "/api/v1/applications",
        data='{"name": "' + "x" * 2000 + '"}',
        content_type="application/json",
    )
    assert big.status_code == 413
    assert big.json() == {"detail": "The request body is too large."}
    assert Organisation.objects.count() == before
