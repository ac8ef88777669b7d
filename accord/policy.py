"""The access policy: the one place that decides who may see and do what.

Every interface — pages, the JSON API, exports, search, aggregates and peer
links — asks this module. Views and API endpoints never filter by hand; they
start from a ``*_visible_to(user)`` queryset or call a ``can_*`` / ``require_*``
function. Objects outside a user's scope are reported as missing (404), never
as forbidden, so that their existence does not leak.

Restricted material (the member directory's contact details, working groups
and, later, shared reports) is open only to people in *good standing*: a
coordinator, or a member of a verified organisation that has accepted the
current version of every published rule document.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils.translation import gettext as _

if TYPE_CHECKING:
    from accord.membership.models import Membership, Organisation
    from accord.workgroups.models import WorkingGroup


class PolicyDenied(Exception):
    """The user may not do this. ``message`` says why, in words for people."""

    def __init__(self, message: str, *, status: int = 403) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class NotVisible(PolicyDenied):
    """The object does not exist for this user (same answer whether it exists or not)."""

    def __init__(self, message: str = "") -> None:
        super().__init__(message or _("Not found."), status=404)


# --- Roles ------------------------------------------------------------------


def is_coordinator(user: Any) -> bool:
    return bool(
        user is not None
        and user.is_authenticated
        and user.is_active
        and (user.is_coordinator or user.is_superuser)
    )


def active_memberships(user: Any) -> QuerySet[Membership]:
    from accord.membership.models import Membership

    if not (user and user.is_authenticated and user.is_active):
        return Membership.objects.none()
    return Membership.objects.active().filter(user=user).select_related("organisation")


def requires_two_factor(user: Any) -> bool:
    """Whether this person must use TOTP (ACCORD_2FA_POLICY)."""
    if not user.is_authenticated or getattr(user, "is_demo", False):
        return False
    policy = settings.ACCORD_2FA_POLICY
    if policy == "none":
        return False
    if policy == "all":
        return True
    return is_coordinator(user) or active_memberships(user).filter(is_representative=True).exists()


# --- The network's rules ------------------------------------------------------


def _current_versions() -> list[Any]:
    from accord.rules.models import RuleVersion

    latest: dict[int, Any] = {}
    for version in RuleVersion.objects.filter(published_at__isnull=False).order_by("number"):
        latest[version.document_id] = version
    return list(latest.values())


def outstanding_rules(organisation: Organisation) -> list[Any]:
    """Current rule versions the organisation has not accepted yet."""
    accepted = set(organisation.rule_acceptances.values_list("version_id", flat=True))
    return [v for v in _current_versions() if v.pk not in accepted]


def organisations_in_good_standing() -> QuerySet[Organisation]:
    """Verified organisations that accepted every current rule version."""
    from accord.membership.models import Organisation
    from accord.rules.models import RuleAcceptance

    qs = Organisation.objects.verified()
    for version in _current_versions():
        qs = qs.filter(
            Exists(RuleAcceptance.objects.filter(organisation=OuterRef("pk"), version=version))
        )
    return qs


@dataclass
class Standing:
    """What a person may reach, and if not, why — for the banner and API errors."""

    good: bool
    reason: str = ""
    organisations_in_good_standing: list[Organisation] = field(default_factory=list)
    organisations_to_accept: list[Organisation] = field(default_factory=list)


def standing(user: Any) -> Standing:
    """Computed once per request and cached on the user object."""
    cached = getattr(user, "_accord_standing", None)
    if cached is not None:
        return cached
    result = _compute_standing(user)
    if user is not None and user.is_authenticated:
        user._accord_standing = result
    return result


def _compute_standing(user: Any) -> Standing:
    if not (user and user.is_authenticated and user.is_active):
        return Standing(False, _("Sign in to see restricted material."))
    organisations = [m.organisation for m in active_memberships(user)]
    if is_coordinator(user) and not organisations:
        return Standing(True)
    if not organisations:
        return Standing(
            False,
            _("Your account does not belong to a verified member organisation yet."),
        )
    good_ids = set(
        organisations_in_good_standing()
        .filter(pk__in=[o.pk for o in organisations])
        .values_list("pk", flat=True)
    )
    good = [o for o in organisations if o.pk in good_ids]
    pending = [o for o in organisations if o.pk not in good_ids]
    # A coordinator is always in good standing, and may still act for those of
    # their organisations that are.
    if good or is_coordinator(user):
        return Standing(True, "", good, pending)
    names = ", ".join(o.name for o in pending)
    return Standing(
        False,
        _(
            "%(orgs)s has not accepted the current version of the network's rules. "
            "Until a representative accepts them, you cannot share or read restricted material."
        )
        % {"orgs": names},
        [],
        pending,
    )


def can_read_restricted(user: Any) -> bool:
    return standing(user).good


def require_restricted(user: Any) -> None:
    state = standing(user)
    if not state.good:
        raise PolicyDenied(state.reason)


# --- Organisations ------------------------------------------------------------


def organisations_visible_to(user: Any) -> QuerySet[Organisation]:
    """The directory: verified members for people in good standing; coordinators
    see applications too. Anyone sees their own organisations."""
    from accord.membership.models import Organisation

    if is_coordinator(user):
        return Organisation.objects.all()
    if not (user and user.is_authenticated):
        return Organisation.objects.none()
    own = Q(memberships__user=user)
    if can_read_restricted(user):
        return Organisation.objects.filter(Q(status=Organisation.Status.VERIFIED) | own).distinct()
    return Organisation.objects.filter(own).distinct()


def get_organisation(user: Any, **lookup: Any) -> Organisation:
    from accord.membership.models import Organisation

    try:
        return organisations_visible_to(user).get(**lookup)
    except (Organisation.DoesNotExist, ValueError, TypeError) as exc:
        raise NotVisible() from exc


def is_member_of(user: Any, organisation: Organisation) -> bool:
    return active_memberships(user).filter(organisation=organisation).exists()


def can_see_contact_details(user: Any, organisation: Organisation) -> bool:
    return is_coordinator(user) or can_read_restricted(user) or is_member_of(user, organisation)


def can_review_applications(user: Any) -> bool:
    return is_coordinator(user)


def can_manage_people(user: Any, organisation: Organisation) -> bool:
    """Invite people, change roles, remove people."""
    if is_coordinator(user):
        return True
    return (
        organisation.is_verified
        and active_memberships(user).filter(organisation=organisation, is_org_admin=True).exists()
    )


def can_accept_rules(user: Any, organisation: Organisation) -> bool:
    return (
        organisation.is_verified
        and active_memberships(user)
        .filter(organisation=organisation, is_representative=True)
        .exists()
    )


def can_publish_rules(user: Any) -> bool:
    return is_coordinator(user)


def acceptances_visible_to(user: Any) -> QuerySet[Any]:
    from accord.rules.models import RuleAcceptance

    qs = RuleAcceptance.objects.select_related("organisation", "version__document", "accepted_by")
    if is_coordinator(user):
        return qs
    if not (user and user.is_authenticated):
        return qs.none()
    return qs.filter(organisation__memberships__user=user).distinct()


# --- Working groups -------------------------------------------------------------


def groups_visible_to(user: Any) -> QuerySet[WorkingGroup]:
    """Open and invite-only groups for people in good standing; a confidential
    group only for those in it (invited or active) and for coordinators."""
    from accord.workgroups.models import WorkingGroup

    if is_coordinator(user):
        return WorkingGroup.objects.all()
    if not can_read_restricted(user):
        return WorkingGroup.objects.none()
    return WorkingGroup.objects.filter(
        ~Q(visibility=WorkingGroup.Visibility.CONFIDENTIAL) | Q(memberships__user=user)
    ).distinct()


def get_group(user: Any, **lookup: Any) -> WorkingGroup:
    from accord.workgroups.models import WorkingGroup

    try:
        return groups_visible_to(user).get(**lookup)
    except (WorkingGroup.DoesNotExist, ValueError, TypeError) as exc:
        raise NotVisible() from exc


def _group_membership(user: Any, group: WorkingGroup) -> Any:
    if not (user and user.is_authenticated):
        return None
    return group.memberships.filter(user=user).first()


def is_group_owner(user: Any, group: WorkingGroup) -> bool:
    membership = _group_membership(user, group)
    return bool(membership and membership.is_owner and membership.state == "active")


def can_manage_group(user: Any, group: WorkingGroup) -> bool:
    return is_group_owner(user, group) or (is_coordinator(user) and not group.is_confidential)


def group_roster_visible_to(user: Any, group: WorkingGroup) -> QuerySet[Any]:
    """Who is in the group, as this user may see it. In a confidential group an
    ordinary member sees only themself; owners see everyone (they manage it), and
    so do coordinators, who answer for the network and see the audit trail anyway."""
    qs = group.memberships.select_related("user", "organisation")
    if is_group_owner(user, group) or is_coordinator(user):
        return qs
    if group.is_confidential:
        return qs.filter(user=user) if user.is_authenticated else qs.none()
    if can_read_restricted(user):
        return qs.filter(state="active")
    return qs.none()


def can_join_group(user: Any, group: WorkingGroup) -> bool:
    return can_read_restricted(user) and active_memberships(user).exists()


# --- Audit trail ------------------------------------------------------------------


def audit_entries_visible_to(user: Any) -> QuerySet[Any]:
    """Coordinators see everything; members see entries about their own organisations."""
    from accord.audit.models import AuditEntry

    if is_coordinator(user):
        return AuditEntry.objects.all()
    if not (user and user.is_authenticated):
        return AuditEntry.objects.none()
    org_ids = list(active_memberships(user).values_list("organisation_id", flat=True))
    return AuditEntry.objects.filter(Q(organisation_id__in=org_ids) | Q(actor=user))


# --- Trusted sharing -------------------------------------------------------------------
#
# A report is visible to:
#   * everyone, signed in or not, when it is TLP:CLEAR (and not withdrawn);
#   * its reporting organisation's members, always (withdrawn too); for an anonymous
#     report the organisation is recognised by its authorship tag only;
#   * and, for people in good standing, when not withdrawn:
#       - GREEN / AMBER / AMBER+STRICT: members of the audience's organisations —
#         the whole network, the organisations of the chosen working groups' members,
#         the chosen organisations, or government bodies; "coordination" means the
#         coordinators alone;
#       - RED: the named recipients only;
#       - coordinators: everything except RED they are not named in.
# Comments, sightings, attachments, observables and correlation counts follow the
# report (see the functions below). docs/sharing.md says the same for people.


@dataclass
class SharingContext:
    """The facts about one person that decide what they may see; computed once per request."""

    authenticated: bool = False
    coordinator: bool = False
    good: bool = False
    member_org_ids: frozenset[int] = frozenset()
    good_org_ids: frozenset[int] = frozenset()
    sharing_org_ids: frozenset[int] = frozenset()
    government: bool = False
    group_ids: frozenset[int] = frozenset()
    _claimed: set[Any] | None = None

    def claimed_report_ids(self) -> set[Any]:
        """Anonymous reports filed by one of this person's organisations."""
        if self._claimed is None:
            from accord.sharing import anonymity

            self._claimed = anonymity.claimed_by_organisations(self.member_org_ids)
        return self._claimed


def sharing_context(user: Any) -> SharingContext:
    cached = getattr(user, "_accord_sharing", None)
    if cached is not None:
        return cached
    context = _compute_sharing_context(user)
    if user is not None and user.is_authenticated:
        user._accord_sharing = context
    return context


def _compute_sharing_context(user: Any) -> SharingContext:
    from accord.workgroups.models import GroupMembership

    if not (user and user.is_authenticated and user.is_active):
        return SharingContext()
    state = standing(user)
    memberships = list(active_memberships(user))
    good_ids = {o.pk for o in state.organisations_in_good_standing}
    group_ids: set[int] = set()
    if good_ids:
        group_ids = set(
            GroupMembership.objects.filter(
                state=GroupMembership.State.ACTIVE, organisation_id__in=good_ids
            ).values_list("group_id", flat=True)
        )
    return SharingContext(
        authenticated=True,
        coordinator=is_coordinator(user),
        good=state.good,
        member_org_ids=frozenset(m.organisation_id for m in memberships),
        good_org_ids=frozenset(good_ids),
        sharing_org_ids=frozenset(
            m.organisation_id
            for m in memberships
            if m.organisation_id in good_ids and (m.is_analyst or m.is_representative)
        ),
        government=any(
            m.organisation.is_government for m in memberships if m.organisation_id in good_ids
        ),
        group_ids=frozenset(group_ids),
    )


def reports_visible_to(user: Any) -> QuerySet[Any]:
    """Every report this person may see (the feed, search, counts and exports start here)."""
    from accord.sharing.models import Report

    return Report.objects.filter(report_visibility(user))


def report_visibility(user: Any, prefix: str = "") -> Q:
    """The rule of ``reports_visible_to`` as a condition on a report reached through
    ``prefix`` ("" on Report itself, "report__" from a row that belongs to a report).
    A condition on each row's own report, rather than "its report is in the set of
    visible reports", lets the database page through millions of rows without
    building that set first."""
    from accord.sharing.models import Audience, Marking, Report

    def on(**lookups: Any) -> Q:
        return Q(**{f"{prefix}{name}": value for name, value in lookups.items()})

    report_pk = OuterRef(f"{prefix}pk")
    live = on(withdrawn_at__isnull=True)
    visible = live & on(marking=Marking.CLEAR)
    context = sharing_context(user)
    if not context.authenticated:
        return visible
    if context.member_org_ids:
        visible |= on(reporter_organisation_id__in=context.member_org_ids)
        claimed = context.claimed_report_ids()
        if claimed:
            visible |= on(pk__in=claimed)
    if context.good:
        if context.coordinator:
            visible |= live & ~on(marking=Marking.RED)
        if context.good_org_ids:
            audience = on(audience=Audience.NETWORK)
            audience |= on(audience=Audience.ORGANISATIONS) & Exists(
                Report.audience_organisations.through.objects.filter(
                    report_id=report_pk, organisation_id__in=context.good_org_ids
                )
            )
            if context.group_ids:
                audience |= on(audience=Audience.GROUPS) & Exists(
                    Report.audience_groups.through.objects.filter(
                        report_id=report_pk, workinggroup_id__in=context.group_ids
                    )
                )
            if context.government:
                audience |= on(audience=Audience.GOVERNMENT)
            visible |= (
                live
                & on(marking__in=[Marking.GREEN, Marking.AMBER, Marking.AMBER_STRICT])
                & audience
            )
        visible |= (
            live
            & on(marking=Marking.RED)
            & Exists(Report.recipients.through.objects.filter(report_id=report_pk, user_id=user.pk))
        )
    return visible


def reports_of_my_organisations(user: Any) -> QuerySet[Any]:
    """The reports filed by this person's organisations, anonymous and withdrawn
    ones included (for "My organisation's reports")."""
    from accord.sharing.models import Report

    context = sharing_context(user)
    if not context.member_org_ids:
        return Report.objects.none()
    mine = Q(reporter_organisation_id__in=context.member_org_ids)
    claimed = context.claimed_report_ids()
    if claimed:
        mine |= Q(pk__in=claimed)
    return Report.objects.filter(mine)


def get_report(user: Any, pk: Any) -> Any:
    from django.core.exceptions import ValidationError

    from accord.sharing.models import Report

    try:
        return reports_visible_to(user).get(pk=pk)
    except (Report.DoesNotExist, ValueError, TypeError, ValidationError) as exc:
        raise NotVisible() from exc


def reporting_organisation_id(user: Any, report: Any) -> int | None:
    """Which of this person's organisations filed the report (None if none did).
    For an anonymous report only the authorship tag can tell."""
    context = sharing_context(user)
    if not context.member_org_ids:
        return None
    if report.reporter_organisation_id in context.member_org_ids:
        return report.reporter_organisation_id
    if report.is_anonymous:
        from accord.sharing import anonymity

        for org_id in context.member_org_ids:
            if anonymity.is_author([org_id], report.pk, report.authorship_tag):
                return org_id
    return None


def is_reporter(user: Any, report: Any) -> bool:
    return reporting_organisation_id(user, report) is not None


def sharing_organisation_ids(user: Any) -> frozenset[int]:
    """Organisations this person may file reports and sightings for: in good
    standing, and the person is an analyst or representative there."""
    return sharing_context(user).sharing_org_ids


def can_share(user: Any) -> bool:
    return bool(sharing_organisation_ids(user))


def require_can_share(user: Any) -> None:
    require_restricted(user)
    if not can_share(user):
        raise PolicyDenied(
            _("Only analysts and representatives of a member organisation can share reports.")
        )


def can_edit_report(user: Any, report: Any) -> bool:
    """Edit, withdraw, relax the marking, reveal: the reporter's analysts and representatives."""
    return reporting_organisation_id(user, report) in sharing_organisation_ids(user)


def can_participate(user: Any, report: Any) -> bool:
    """Comment on, or record a sighting of, a report the person can see."""
    context = sharing_context(user)
    return context.good and bool(context.good_org_ids) and not report.is_withdrawn


def require_participation(user: Any, report: Any) -> None:
    """Refuse, with the reason, someone who may not comment on or sight this report."""
    if can_participate(user, report):
        return
    if report.is_withdrawn:
        raise PolicyDenied(_("This report was withdrawn."))
    require_restricted(user)
    raise PolicyDenied(_("Only members of an organisation in good standing can take part here."))


def can_look_up_reporter(user: Any, report: Any) -> bool:
    """Only a coordinator may find out who is behind a pseudonym — and each look is audited.
    Nobody, the coordinator included, can do so for an anonymous report."""
    from accord.sharing.models import Attribution

    return is_coordinator(user) and report.attribution == Attribution.PSEUDONYMOUS


def comments_visible_to(user: Any, report: Any) -> QuerySet[Any]:
    """Comments on a report the person can see. A comment marked more strictly
    than CLEAR needs good standing; a RED comment stays between the report's
    named recipients, its reporter and the commenter's organisation."""
    from accord.sharing.models import Comment, Marking

    comments = Comment.objects.filter(report=report)
    context = sharing_context(user)
    if not context.good:
        return comments.filter(marking=Marking.CLEAR)
    if is_reporter(user, report) or report.recipients.filter(pk=user.pk).exists():
        return comments
    return comments.filter(~Q(marking=Marking.RED) | Q(organisation_id__in=context.member_org_ids))


def sightings_visible_to(user: Any, report: Any) -> QuerySet[Any]:
    """Sightings of a visible report, for people in good standing; anyone sees their own."""
    from accord.sharing.models import Sighting

    sightings = Sighting.objects.filter(report=report)
    context = sharing_context(user)
    if context.good:
        return sightings
    if context.member_org_ids:
        return sightings.filter(organisation_id__in=context.member_org_ids)
    return sightings.none()


def attachments_visible_to(user: Any, report: Any) -> QuerySet[Any]:
    """Attachments follow their report: ``report`` must come from ``get_report``."""
    return report.attachments.all()


def can_manage_sharing_settings(user: Any) -> bool:
    """Severity weights and thresholds, and the list of values too common to correlate."""
    return is_coordinator(user)


# --- Points of contact ------------------------------------------------------
# The national points-of-contact directory is restricted material; coordinators
# keep it and run the communication checks.


def can_read_contacts(user: Any) -> bool:
    """The directory is restricted material: people in good standing (coordinators always)."""
    return can_read_restricted(user)


def require_read_contacts(user: Any) -> None:
    require_restricted(user)


def can_manage_contacts(user: Any) -> bool:
    """Add, change and remove points of contact: coordinators."""
    return is_coordinator(user)


def can_edit_contact(user: Any, contact: Any) -> bool:
    """Coordinators change this country's contacts; a peer's contacts change only
    at their origin (the next pull would undo a local edit)."""
    return can_manage_contacts(user) and contact.peer_id is None


def require_manage_contacts(user: Any) -> None:
    if not can_manage_contacts(user):
        require_read_contacts(user)
        raise PolicyDenied(_("Only coordinators manage the points of contact."))


def contacts_visible_to(user: Any) -> QuerySet[Any]:
    from accord.contacts.models import Contact

    if not can_read_contacts(user):
        return Contact.objects.none()
    return Contact.objects.all()


def get_contact(user: Any, pk: Any) -> Any:
    from accord.contacts.models import Contact

    try:
        return contacts_visible_to(user).select_related("organisation", "peer", "user").get(pk=pk)
    except (Contact.DoesNotExist, ValueError, TypeError, ValidationError) as exc:
        raise NotVisible() from exc


def can_run_checks(user: Any) -> bool:
    """Send checks, follow them, see their statistics and set the schedule: coordinators."""
    return is_coordinator(user)


def require_run_checks(user: Any) -> None:
    if not can_run_checks(user):
        require_read_contacts(user)
        raise PolicyDenied(_("Only coordinators run communication checks."))


def checks_visible_to(user: Any) -> QuerySet[Any]:
    from accord.contacts.models import ContactCheck

    if not can_run_checks(user):
        return ContactCheck.objects.none()
    return ContactCheck.objects.all()


def get_check(user: Any, pk: Any) -> Any:
    from accord.contacts.models import ContactCheck

    try:
        return checks_visible_to(user).get(pk=pk)
    except (ContactCheck.DoesNotExist, ValueError, TypeError, ValidationError) as exc:
        raise NotVisible() from exc


# --- International exchange -------------------------------------------------
# Who may read which stored STIX object (TAXII, bundle export, peer links). A
# report's objects follow the report: this section adds no rule of its own for
# people, only the agreements for peers.
#
# A peer installation receives, under its OUTBOUND agreement (docs/federation.md):
#   * live reports only, never one already retracted from that peer;
#   * marked TLP:CLEAR or GREEN up to the agreement's highest marking, and AMBER only
#     when the agreement's highest is AMBER and the reporter consented to sharing
#     abroad; AMBER+STRICT and RED never;
#   * of the kinds the agreement lists;
#   * addressed to the whole network, or to working groups the agreement names;
#     never reports for chosen organisations, government, coordination or named
#     recipients;
#   * reports that came from a third country only when the agreement passes such
#     material on, and never back to the peer or the country it came from;
#   * named reporters reduced to sector and country unless the agreement names them.


def can_manage_peers(user: Any) -> bool:
    """Peer installations and their agreements: the coordinators' business."""
    return is_coordinator(user)


def require_can_manage_peers(user: Any) -> None:
    if not can_manage_peers(user):
        raise PolicyDenied(_("Only coordinators can manage peer installations."))


def can_import_foreign(user: Any) -> bool:
    """Whether this person may import another country's material (a MISP event or a
    bundle with no local reporter): coordinators, who represent the country to its peers."""
    return is_coordinator(user)


def readable_context_scopes(user: Any) -> list[str]:
    """The scopes of stored STIX objects that belong to no report which this person
    may read: shared context (the installation, sector classes, markings) once
    signed in; organisations' identities and points of contact in good standing."""
    from accord.exchange.models import Scope

    context = sharing_context(user)
    scopes = [Scope.PUBLIC] if context.authenticated else []
    if context.good:
        scopes += [Scope.NAMED, Scope.CONTACT]
    return scopes


def stix_objects_visible_to(user: Any) -> QuerySet[Any]:
    """The stored STIX objects a person may read over TAXII or in an export: those
    of the reports they may see (tested on each object's own report, see
    ``report_visibility``) and the context scopes. Rows written for one peer
    (retractions) are nobody else's."""
    from accord.exchange.models import Scope, StixObject

    readable = Q(scope=Scope.REPORT) & report_visibility(user, "report__")
    if not sharing_context(user).good:
        # Sightings and comments are for people in good standing, as on the pages,
        # even on a TLP:CLEAR report.
        readable &= ~Q(stix_type__in=["sighting", "note"])
    scopes = readable_context_scopes(user)
    if scopes:
        readable |= Q(scope__in=scopes)
    return StixObject.objects.filter(readable)


def can_delete_stix_object(user: Any, row: Any) -> bool:
    """Deleting a stored version over TAXII: only the reporting organisation's
    analysts and representatives, for their report's objects; shared context objects
    (identities, definitions) belong to no one and stay."""
    from accord.exchange.models import Scope

    return (
        row.scope == Scope.REPORT and row.report is not None and can_edit_report(user, row.report)
    )


def outbound_agreement(peer: Any) -> Any:
    """The agreement on what goes to this peer, or None (then nothing does)."""
    from accord.exchange.models import Agreement

    return Agreement.objects.filter(peer=peer, direction=Agreement.Direction.OUTBOUND).first()


def peer_markings(highest: str) -> list[str]:
    """The markings an agreement with this highest marking lets cross (AMBER then
    still needs the reporter's consent per report). Never AMBER+STRICT or RED."""
    from accord.sharing.models import MARKING_RANK, Marking

    crossable = [Marking.CLEAR, Marking.GREEN, Marking.AMBER]
    rank = MARKING_RANK.get(highest, -1)
    return [m.value for m in crossable if MARKING_RANK[m] <= rank]


def peer_may_see_names(peer: Any) -> bool:
    """Whether a peer may learn which organisation filed a named report. When not,
    it is served each object's ``body_abroad`` (the reporter reduced to sector and
    country) and no organisation identity objects."""
    agreement = outbound_agreement(peer)
    return bool(agreement and agreement.name_reporters)


def reports_for_peer(peer: Any) -> QuerySet[Any]:
    """The reports a peer installation may receive under its outbound agreement."""
    from accord.exchange.models import PeerDelivery, ReportOrigin
    from accord.sharing.models import Audience, Kind, Marking, Report

    agreement = outbound_agreement(peer)
    if agreement is None:
        return Report.objects.none()
    markings = peer_markings(agreement.highest_marking)
    kinds = [kind for kind in agreement.kinds if kind in Kind.values]
    if not markings or not kinds:
        return Report.objects.none()
    marking = Q(marking__in=[m for m in markings if m != Marking.AMBER])
    if Marking.AMBER in markings:
        marking |= Q(marking=Marking.AMBER, abroad_consent=True)
    audience = Q(audience=Audience.NETWORK)
    group_ids = list(agreement.working_groups.values_list("pk", flat=True))
    if group_ids:
        audience |= Q(audience=Audience.GROUPS) & Exists(
            Report.audience_groups.through.objects.filter(
                report_id=OuterRef("pk"), workinggroup_id__in=group_ids
            )
        )
    origins = ReportOrigin.objects.filter(report_id=OuterRef("pk"))
    # Material from abroad: it has an origin and no organisation here claims it
    # (a member's own import keeps its organisation or authorship tag).
    foreign = Exists(origins) & Q(reporter_organisation__isnull=True, authorship_tag="")
    back_home = Exists(origins.filter(Q(peer=peer) | Q(origin_country=peer.country)))
    retracted = Exists(
        PeerDelivery.objects.filter(peer=peer, report_id=OuterRef("pk"), retracted_at__isnull=False)
    )
    reports = Report.objects.filter(
        Q(withdrawn_at__isnull=True) & marking & audience & Q(kind__in=kinds)
    ).exclude(back_home | retracted)
    if not agreement.pass_on_third_party:
        reports = reports.exclude(foreign)
    return reports


def _named_identity_ids(peer: Any) -> list[str]:
    """The identity objects of the organisations named in what the peer may receive:
    the reporters of its named reports, and the named commenters and sighters on
    them. No other member's name crosses."""
    from accord.exchange.stix.mapping import organisation_identity_id
    from accord.sharing.models import Attribution, Comment, Sighting

    allowed = reports_for_peer(peer).values("pk")
    named = Attribution.NAMED
    org_ids = set(
        reports_for_peer(peer)
        .filter(attribution=named, reporter_organisation__isnull=False)
        .values_list("reporter_organisation_id", flat=True)
    )
    org_ids |= set(
        Comment.objects.filter(
            report__in=allowed, attribution=named, marking=F("report__marking")
        ).values_list("organisation_id", flat=True)
    )
    org_ids |= set(
        Sighting.objects.filter(
            report__in=allowed, attribution=named, organisation__isnull=False
        ).values_list("organisation_id", flat=True)
    )
    return [organisation_identity_id(pk) for pk in sorted(org_ids)]


def stix_objects_visible_to_peer(peer: Any) -> QuerySet[Any]:
    """The stored STIX objects a peer installation may pull: the latest version of
    each object of ``reports_for_peer``, shared context (public objects, points of
    contact; the identities of the organisations named in those reports only where
    names may cross), and the
    retractions written for this peer. Older versions are not served to peers: a
    report's earlier versions may have carried a stricter marking or audience.

    Pure: it writes nothing. ``accord.exchange.peers.services.objects_for_peer``
    first writes the retractions this set then contains."""
    from accord.exchange.models import PeerDelivery, Scope, StixObject

    if not peer.active:
        return StixObject.objects.none()
    allowed = reports_for_peer(peer).values("pk")
    readable = Q(scope=Scope.REPORT, is_latest=True, report__in=allowed)
    readable |= Q(scope__in=[Scope.PUBLIC, Scope.CONTACT], is_latest=True)
    if peer_may_see_names(peer):
        readable |= Q(scope=Scope.NAMED, is_latest=True, stix_id__in=_named_identity_ids(peer))
    readable |= Q(
        scope=Scope.PEER,
        pk__in=PeerDelivery.objects.filter(peer=peer, tombstone__isnull=False).values(
            "tombstone_id"
        ),
    )
    return StixObject.objects.filter(readable)
