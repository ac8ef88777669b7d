"""The collections a caller sees, and the stored objects each one holds.

Collections follow the sharing audiences. For a person:

- ``all`` — everything the person may read (read-only);
- ``network`` — reports for the whole network;
- ``group-<slug>`` — one per working group the person is an active member of;
- ``government`` — reports for government bodies;
- ``coordination`` — reports for the coordinating CERT.

Each audience collection holds the objects of the reports with that audience
that the person may read, plus the shared context objects that belong to no
report (identities, definitions). Posting to an audience collection creates
reports for that audience, as the person's organisation. People who are not in
good standing see ``all`` only (TLP:CLEAR and their own organisation's reports).

A peer installation sees exactly one collection, ``peer``: what its outbound
agreement lets it receive.

Collection ids are UUIDv5 of ACCORD_NAMESPACE and a fixed key, so they are the
same for everyone and never change.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet, TextField, Value
from django.db.models.functions import Coalesce, NullIf

from accord import policy
from accord.exchange.models import Scope, StixObject
from accord.exchange.stix.vocab import ACCORD_NAMESPACE
from accord.sharing.models import Audience, Marking, Report

from .auth import Principal
from .media import STIX_MEDIA_TYPE, TaxiiError


def collection_id(key: str) -> str:
    return str(uuid.uuid5(ACCORD_NAMESPACE, f"taxii-collection:{key}"))


def peer_collection_id() -> str:
    """The one collection every peer installation reads (its contents differ per peer)."""
    return collection_id("peer")


@dataclass(frozen=True)
class Collection:
    key: str
    alias: str
    title: str
    description: str
    can_read: bool
    can_write: bool
    audience: str | None = None
    group: Any = None

    @property
    def id(self) -> str:
        return collection_id(self.key)

    def resource(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "description": self.description,
            "alias": self.alias,
            "can_read": self.can_read,
            "can_write": self.can_write,
            "media_types": [STIX_MEDIA_TYPE],
        }


def collections_for(principal: Principal, *, groups: bool = True) -> list[Collection]:
    """The collections this caller may use, in a stable order (``groups=False``
    leaves out the working groups' collections, which cost a query)."""
    if principal.is_peer:
        return [
            Collection(
                key="peer",
                alias="peer",
                title="Shared with your installation",
                description="What the agreement with your installation lets it receive.",
                can_read=True,
                can_write=False,
            )
        ]
    user = principal.user
    found = [
        Collection(
            key="all",
            alias="all",
            title="Everything you may read",
            description="Every shared object you may see, whatever its audience.",
            can_read=True,
            can_write=False,
        )
    ]
    if not policy.can_read_restricted(user):
        return found
    # A read-only token cannot write, whatever its owner may do.
    writable = principal.token_can_write and policy.can_share(user)
    found.append(
        Collection(
            key="network",
            alias="network",
            title="Whole network",
            description="Reports for every member of the network.",
            can_read=True,
            can_write=writable,
            audience=Audience.NETWORK,
        )
    )
    for group in _groups_of(user) if groups else []:
        found.append(
            Collection(
                key=f"group:{group.pk}",
                alias=f"group-{group.slug}",
                title=f"Working group: {group.name}",
                description=f"Reports for the members of the working group {group.name}.",
                can_read=True,
                can_write=writable,
                audience=Audience.GROUPS,
                group=group,
            )
        )
    found.append(
        Collection(
            key="government",
            alias="government",
            title="Government",
            description="Reports for government bodies only.",
            can_read=True,
            can_write=writable,
            audience=Audience.GOVERNMENT,
        )
    )
    found.append(
        Collection(
            key="coordination",
            alias="coordination",
            title="Coordination",
            description="Reports for the coordinating CERT only.",
            can_read=True,
            can_write=writable,
            audience=Audience.COORDINATION,
        )
    )
    return found


def _groups_of(user: Any) -> list[Any]:
    from accord.workgroups.models import GroupMembership

    return list(
        policy.groups_visible_to(user)
        .filter(
            memberships__user=user,
            memberships__state=GroupMembership.State.ACTIVE,
        )
        .distinct()
        .order_by("name")
    )


def get_collection(principal: Principal, key: str) -> Collection:
    """The caller's collection with this id (or alias); 404 for any other."""
    for collection in collections_for(principal, groups=False):
        if key in (collection.id, collection.alias):
            return collection
    for collection in collections_for(principal):
        if key in (collection.id, collection.alias):
            return collection
    raise TaxiiError(
        404, "Collection not found", "No collection with this id is open to you.", code="not-found"
    )


# --- What a collection holds ------------------------------------------------------

# Objects that belong to no report and give the reports their context.
CONTEXT_SCOPES = [Scope.PUBLIC, Scope.NAMED]


def objects_of(
    principal: Principal, collection: Collection, *, sync: bool = True
) -> QuerySet[StixObject]:
    """The stored objects (all versions) this caller may read in this collection.

    Two shapes, for the query planner's sake (see policy.report_visibility): the large
    collections (``all``, ``network``) test each object's own report; the others
    hold the objects of a list of reports the policy lets the person see, which
    lets the database read them through the report index when they are few."""
    if principal.is_peer:
        if not sync:  # a later page of a walk: the first page brought it up to date
            return policy.stix_objects_visible_to_peer(principal.peer)
        # Notes what the peer may now hold and writes the retractions it is owed first.
        from accord.exchange.peers.services import objects_for_peer

        return objects_for_peer(principal.peer)
    user = principal.user
    if collection.audience is None:
        return policy.stix_objects_visible_to(user)
    context = [s for s in policy.readable_context_scopes(user) if s in CONTEXT_SCOPES]
    if collection.audience == Audience.NETWORK:
        # RED reports carry the audience "network" but go to named people only.
        in_audience = Q(scope=Scope.REPORT, report__audience=Audience.NETWORK) & ~Q(
            report__marking=Marking.RED
        )
        return policy.stix_objects_visible_to(user).filter(in_audience | Q(scope__in=context))
    reports = policy.reports_visible_to(user).filter(audience=collection.audience)
    if collection.group is not None:
        reports = reports.filter(
            pk__in=Report.audience_groups.through.objects.filter(
                workinggroup_id=collection.group.pk
            ).values("report_id")
        )
    ids = list(reports.values_list("pk", flat=True))
    in_audience = Q(scope=Scope.REPORT, report_id__in=ids)
    return StixObject.objects.filter(in_audience | Q(scope__in=context))


def walks_the_store(principal: Principal, collection: Collection) -> bool:
    """Whether a page of this collection should be read along the store's
    (date_added, id) index: yes for the collections that test each row (``all``,
    ``network``, a peer's), which may hold most of a large store; no for the others,
    which list their reports and are best read through the report index."""
    return principal.is_peer or collection.audience in (None, Audience.NETWORK)


def body_column(principal: Principal) -> Any:
    """What to serve of each row: ``body``, or for a peer that must not learn
    named reporters, ``body_abroad`` where a row has one."""
    if principal.is_peer and not policy.peer_may_see_names(principal.peer):
        return Coalesce(NullIf("body_abroad", Value("")), "body", output_field=TextField())
    return "body"
