"""JSON API: import a STIX 2.1 bundle (mounted under /api/v1/).

``POST /stix/import`` takes a bundle as the body (``application/json`` or
``application/stix+json``) from a member who may share, and files its reports as
the caller's organisation (``organisation`` names which, for people in several),
exactly as ``accord import-stix --organisation`` does (docs/stix-import.md).

All or nothing: malformed JSON or a body that is not a bundle is a 400, a bundle
with any invalid object a 422 listing every failure, and in both cases nothing
is stored. Importing the same bundle again stores nothing new.

No ``from __future__ import annotations`` here: Ninja reads the annotations at run time.
"""

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext as _
from ninja import Query, Router
from ninja.errors import HttpError

from accord import policy
from accord.exchange.models import Source
from accord.exchange.stix import reader
from accord.exchange.stix.ingest import IngestContext, IngestRefused, ingest
from accord.sharing.models import Audience, Marking
from accord.sharing.services import SharingError
from accord.sharing.services.reports import acting_organisation

router = Router(tags=["stix"])

MEDIA_TYPES = ("application/json", "application/stix+json")
# RED names its recipients, which a bundle cannot: it is never imported.
MARKINGS = [Marking.CLEAR, Marking.GREEN, Marking.AMBER, Marking.AMBER_STRICT]
FAILURES_LISTED = 1000


@router.post(
    "/stix/import",
    summary="Import a STIX 2.1 bundle as your organisation's reports",
    response={200: dict, 400: dict, 403: dict, 413: dict, 415: dict, 422: dict},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {media: {"schema": {"type": "object"}} for media in MEDIA_TYPES},
        }
    },
)
def import_bundle(
    request: HttpRequest,
    organisation: str | None = Query(None, description="Slug of the filing organisation"),  # noqa: B008
    marking: str = Query("green", description="For objects without a TLP marking"),  # noqa: B008
    audience: str = Query("network", description="Who may see the reports"),  # noqa: B008
    group: str | None = Query(None, description="Working group slug (audience=groups)"),  # noqa: B008
) -> JsonResponse:
    user = request.auth
    policy.require_can_share(user)
    _require_media_type(request)
    ctx = IngestContext(
        user=user,
        organisation=_organisation(user, organisation),
        source=Source.API,
        marking_default=_marking(marking),
        all_or_nothing=True,
        keep_successes=False,
        label="the API",
    )
    ctx.audience, ctx.audience_group = _audience(user, audience, group)
    objects = _objects(_body(request))
    try:
        result = ingest(objects, ctx)
    except IngestRefused as refused:
        failures = refused.result.failures
        return JsonResponse(
            {
                "detail": _("%(failed)d of %(total)d objects are invalid; nothing was stored.")
                % {"failed": refused.result.failed, "total": refused.result.total},
                "failures": [
                    {"id": stix_id, "version": version, "message": message}
                    for stix_id, version, message in failures[:FAILURES_LISTED]
                ],
            },
            status=422,
        )
    return JsonResponse(
        {
            "objects": result.total,
            "stored": result.stored,
            "unchanged": result.unchanged,
            "observables": result.observables,
            "reports_created": [str(pk) for pk in result.reports_created],
            "reports_updated": [str(pk) for pk in result.reports_updated],
            "reports_withdrawn": [str(pk) for pk in result.reports_withdrawn],
        }
    )


def _require_media_type(request: HttpRequest) -> None:
    media_type = request.content_type or ""
    if media_type not in MEDIA_TYPES:
        raise HttpError(
            415,
            _("Send the bundle as application/json or application/stix+json, not %(type)s.")
            % {"type": media_type or _("no content type")},
        )


def _body(request: HttpRequest) -> bytes:
    try:
        body = request.body
    except RequestDataTooBig:
        raise HttpError(
            413,
            _(
                "The bundle is larger than %(n)d bytes: import it with "
                "`accord import-stix` or post it over TAXII in parts."
            )
            % {"n": settings.DATA_UPLOAD_MAX_MEMORY_SIZE},
        ) from None
    if not body.strip():
        raise HttpError(400, _("The body is empty: send a STIX 2.1 bundle."))
    return body


def _objects(body: bytes) -> list:
    try:
        return list(reader.iter_objects(body))
    except reader.BundleError as exc:
        raise HttpError(400, str(exc)) from None


def _organisation(user: object, slug: str | None) -> object:
    from accord.membership.models import Organisation

    organisation_id = None
    if slug:
        organisation_id = (
            Organisation.objects.filter(slug=slug).values_list("pk", flat=True).first()
        )
        if organisation_id is None:
            raise HttpError(422, _("organisation: no organisation with the slug '%s'.") % slug)
    try:
        return acting_organisation(user, organisation_id)
    except SharingError as exc:
        raise HttpError(422, str(exc.as_detail())) from None


def _marking(marking: str) -> str:
    if marking not in MARKINGS:
        raise HttpError(
            422,
            _("marking: choose clear, green, amber or amber+strict (RED names its recipients)."),
        )
    return marking


def _audience(user: object, audience: str, group: str | None) -> tuple[str, object]:
    if audience not in Audience.values or audience == Audience.ORGANISATIONS:
        raise HttpError(422, _("audience: choose network, groups, government or coordination."))
    if audience != Audience.GROUPS:
        if group:
            raise HttpError(422, _("group: a working group applies only to audience=groups."))
        return audience, None
    found = policy.groups_visible_to(user).filter(slug=group or "").first()
    if found is None:
        raise HttpError(422, _("group: name a working group you belong to."))
    return audience, found
