"""The TAXII 2.1 endpoints (sections 4 and 5 of the standard).

Each view is wrapped by ``endpoint``, which answers methods the path does not
take (405), authenticates (401), negotiates the media type (406), checks the API
root (404) and turns every refusal into a TAXII error message. The views
themselves only parse, ask ``collections`` what the caller may read, and
serialise. Envelopes are assembled from the stored JSON text of each object,
which is never parsed again on the way out.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt

from accord import policy

from . import auth, conf, deletion, paging, posting
from . import status as statuses
from .auth import Principal
from .collections import (
    Collection,
    body_column,
    collections_for,
    get_collection,
    objects_of,
    walks_the_store,
)
from .media import (
    STIX_MEDIA_TYPE,
    TAXII_MEDIA_TYPE,
    TaxiiError,
    check_accept,
    check_content_type,
    dumps,
    error_response,
    format_added,
    format_version,
    taxii_response,
)

View = Callable[..., HttpResponse]


def endpoint(*methods: str, public: bool = False) -> Callable[[View], View]:
    allowed = set(methods) | ({"HEAD"} if "GET" in methods else set())

    def decorate(view: View) -> View:
        @csrf_exempt
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            try:
                if request.method not in allowed:
                    raise TaxiiError(
                        405,
                        "Method not allowed",
                        f"{request.method} is not allowed here; use {', '.join(methods)}.",
                        code="method-not-allowed",
                        headers={"Allow": ", ".join(sorted(allowed))},
                    )
                principal = auth.authenticate(request)
                if principal is None and not public:
                    raise auth.unauthorized(
                        "Sign in with HTTP Basic: your user name and an API token as the "
                        "password (or a Bearer API token)."
                    )
                check_accept(request)
                if "api_root" in kwargs and kwargs["api_root"] != conf.api_root_name():
                    raise TaxiiError(
                        404,
                        "API root not found",
                        "This server has no such API root.",
                        code="not-found",
                    )
                response = view(request, principal, *args, **kwargs)
            except TaxiiError as error:
                response = error_response(error)
            except policy.PolicyDenied as denied:
                response = error_response(
                    TaxiiError(
                        denied.status,
                        "Forbidden" if denied.status == 403 else "Not found",
                        denied.message,
                    )
                )
            # Answers depend on who asks: never cache them anywhere.
            response["Cache-Control"] = "no-store"
            return response

        return wrapped

    return decorate


def _api_root_url(request: HttpRequest) -> str:
    return request.build_absolute_uri(reverse("taxii:api_root", args=[conf.api_root_name()]))


# --- Server and API root -------------------------------------------------------------


@endpoint("GET", public=True)
def discovery(request: HttpRequest, principal: Principal | None) -> HttpResponse:
    """Section 4.1. Open without credentials: it only names the API root."""
    root = _api_root_url(request)
    return taxii_response(
        {
            "title": f"{conf.network_name()} TAXII server",
            "description": (
                "Threat information shared in the network, served as STIX 2.1. "
                "Sign in with your user name and an API token."
            ),
            "default": root,
            "api_roots": [root],
        }
    )


@endpoint("GET")
def api_root(request: HttpRequest, principal: Principal, api_root: str) -> HttpResponse:
    """Section 4.2."""
    return taxii_response(
        {
            "title": conf.network_name(),
            "description": "Collections follow the network's sharing audiences.",
            "versions": [TAXII_MEDIA_TYPE],
            "max_content_length": conf.max_content_length(),
        }
    )


@endpoint("GET")
def status(
    request: HttpRequest, principal: Principal, api_root: str, status_id: str
) -> HttpResponse:
    """Section 4.3."""
    return taxii_response(statuses.resource(statuses.get_status(principal, status_id)))


# --- Collections ------------------------------------------------------------------------


@endpoint("GET")
def collections(request: HttpRequest, principal: Principal, api_root: str) -> HttpResponse:
    """Section 5.1."""
    return taxii_response(
        {"collections": [collection.resource() for collection in collections_for(principal)]}
    )


@endpoint("GET")
def collection(
    request: HttpRequest, principal: Principal, api_root: str, collection_id: str
) -> HttpResponse:
    """Section 5.2."""
    return taxii_response(get_collection(principal, collection_id).resource())


def _readable(principal: Principal, collection_id: str) -> Collection:
    found = get_collection(principal, collection_id)
    if not found.can_read:
        raise TaxiiError(403, "Forbidden", "You may not read this collection.", code="forbidden")
    return found


def _writable(principal: Principal, collection_id: str) -> Collection:
    found = get_collection(principal, collection_id)
    if not principal.is_peer and not principal.token_can_write:
        raise TaxiiError(
            403,
            "Forbidden",
            "This API token is read-only; use a read-write token to add or delete objects.",
            code="read-only-token",
        )
    if principal.is_peer or not found.can_write:
        raise TaxiiError(
            403,
            "Forbidden",
            "You may not add to or delete from this collection.",
            code="forbidden",
        )
    return found


def _envelope(found: paging.Page, bodies: list[str]) -> bytes:
    head = b'{"more":true,"next":' + dumps(found.next) if found.more else b'{"more":false'
    if not bodies:
        return head + b"}"
    return head + b',"objects":[' + ",".join(bodies).encode() + b"]}"


# --- Objects ------------------------------------------------------------------------------


@endpoint("GET", "POST")
def objects(
    request: HttpRequest, principal: Principal, api_root: str, collection_id: str
) -> HttpResponse:
    """Sections 5.4 (Get Objects) and 5.5 (Add Objects)."""
    if request.method == "POST":
        found = _writable(principal, collection_id)
        check_content_type(request)
        added = posting.add_objects(request, principal, found, api_root)
        statuses.purge_expired()
        return taxii_response(statuses.resource(added), status=202)
    found = _readable(principal, collection_id)
    query = paging.parse_query(request, paging.OBJECTS_FILTERS)
    # A peer's deliveries and retractions are brought up to date once per walk.
    rows = paging.filter_objects(objects_of(principal, found, sync=query.after is None), query)
    result = paging.page(rows, query, body_column(principal), walk=_walks(principal, found, query))
    return taxii_response(
        _envelope(result, [row[0] for row in result.rows]), headers=result.headers()
    )


def _walks(principal: Principal, found: Collection, query: paging.Query) -> bool:
    # A list of ids is found through the id index, whatever the collection.
    return not query.ids and walks_the_store(principal, found)


def _object_rows(principal: Principal, found: Collection, object_id: str) -> Any:
    rows = objects_of(principal, found).filter(stix_id=object_id)
    if not rows.exists():
        raise TaxiiError(
            404,
            "Object not found",
            "No object with this id is in the collection for you.",
            code="not-found",
        )
    return rows


@endpoint("GET", "DELETE")
def object_(
    request: HttpRequest, principal: Principal, api_root: str, collection_id: str, object_id: str
) -> HttpResponse:
    """Sections 5.6 (Get An Object) and 5.7 (Delete An Object)."""
    if request.method == "DELETE":
        found = _writable(principal, collection_id)
        query = paging.parse_query(request, paging.DELETE_FILTERS, default_version="all")
        rows = paging.filter_objects(_object_rows(principal, found, object_id), query)
        deletion.delete_versions(request, principal.user, object_id, rows)
        return HttpResponse(status=200, content_type=TAXII_MEDIA_TYPE)
    found = _readable(principal, collection_id)
    query = paging.parse_query(request, paging.OBJECT_FILTERS)
    rows = paging.filter_objects(_object_rows(principal, found, object_id), query)
    result = paging.page(rows, query, body_column(principal))
    return taxii_response(
        _envelope(result, [row[0] for row in result.rows]), headers=result.headers()
    )


@endpoint("GET")
def versions(
    request: HttpRequest, principal: Principal, api_root: str, collection_id: str, object_id: str
) -> HttpResponse:
    """Section 5.8 (Get Object Versions)."""
    found = _readable(principal, collection_id)
    query = paging.parse_query(request, paging.VERSIONS_FILTERS, default_version="all")
    rows = paging.filter_objects(_object_rows(principal, found, object_id), query)
    result = paging.page(rows, query, "modified")
    body: dict[str, Any] = {"more": result.more}
    if result.more:
        body["next"] = result.next
    if result.rows:
        body["versions"] = [format_version(row[0]) for row in result.rows]
    return taxii_response(body, headers=result.headers())


@endpoint("GET")
def manifest(
    request: HttpRequest, principal: Principal, api_root: str, collection_id: str
) -> HttpResponse:
    """Section 5.3 (Get Object Manifests)."""
    found = _readable(principal, collection_id)
    query = paging.parse_query(request, paging.OBJECTS_FILTERS)
    rows = paging.filter_objects(objects_of(principal, found), query)
    result = paging.page(
        rows,
        query,
        "stix_id",
        "modified",
        "spec_version",
        every_date=True,
        walk=_walks(principal, found, query),
    )
    body: dict[str, Any] = {"more": result.more}
    if result.more:
        body["next"] = result.next
    if result.rows:
        body["objects"] = [
            {
                "id": stix_id,
                "date_added": format_added(date_added),
                "version": format_version(modified),
                "media_type": (
                    STIX_MEDIA_TYPE
                    if spec_version == "2.1"
                    else f"application/stix+json;version={spec_version}"
                ),
            }
            for date_added, (stix_id, modified, spec_version) in zip(
                result.added, result.rows, strict=True
            )
        ]
    return taxii_response(body, headers=result.headers())


@endpoint("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
def not_found(request: HttpRequest, principal: Principal, rest: str = "") -> HttpResponse:
    """Anything else under /taxii2/ is a TAXII 404, not an HTML page."""
    raise TaxiiError(
        404, "Not found", "There is no TAXII endpoint at this address.", code="not-found"
    )
