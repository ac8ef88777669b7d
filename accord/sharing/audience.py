"""Who will see a report before it is filed: the audience preview of the wizard.

The answer must be the access policy's own, not a second opinion that could
drift from it. So the draft is filed for real — ``services.reports.create_report``
— inside a transaction that is always rolled back, and each person's view is
decided by ``policy.reports_visible_to``. Nothing survives the dry run: the
report, its rows and its audit entry roll back with the transaction, and the
notification task is queued with ``transaction.on_commit``, which never runs.

Deciding for every person one by one would cost a handful of queries each.
``reports_visible_to`` depends on nothing but these facts about a person:
whether they are a coordinator, the set of verified organisations they belong
to (standing, government, working groups and anonymous authorship all follow
from it) and — for TLP:RED — whether they are a named recipient. People who
share those facts get the same answer, so the policy is asked once per
distinct combination, usually about once per organisation.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accord import policy
from accord.membership.models import Membership, Organisation
from accord.workgroups.models import GroupMembership

from .models import MARKING_RANK, Attribution, Audience, Kind, Marking
from .services import SharingError
from .services.drafts import ReportDraft, clean_draft
from .services.reports import acting_organisation, create_report, public_reporter_label

# Above this many organisations the preview gives a number, not a list of names.
MAX_NAMES = 12

# The draft fields that decide who sees a report (and the errors worth showing here).
DISTRIBUTION_FIELDS = (
    "organisation",
    "marking",
    "audience",
    "audience_groups",
    "audience_organisations",
    "recipients",
    "attribution",
)


@dataclass
class GroupReach:
    name: str
    organisations: list[str] | None  # None when the names may not be shown
    count: int


@dataclass
class AudiencePreview:
    marking: str = Marking.AMBER
    audience: str = Audience.NETWORK
    attribution: str = Attribution.NAMED
    public: bool = False
    people: int = 0
    organisation_count: int = 0
    # Names of the other organisations that will see it; None when withheld
    # (too many, or naming them would reveal a confidential group's members).
    organisations: list[str] | None = field(default_factory=list)
    names_withheld: bool = False
    groups: list[GroupReach] = field(default_factory=list)
    unreached: list[str] = field(default_factory=list)  # chosen organisations that cannot see it
    recipients: list[str] = field(default_factory=list)
    coordinators: bool = False
    own_organisation: bool = False
    reporter_label: str = ""
    relaxed_from: str = ""  # the current marking when an edit relaxes it
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def anonymous(self) -> bool:
        return self.attribution == Attribution.ANONYMOUS

    @property
    def marking_label(self) -> str:
        return str(Marking(self.marking).label) if self.marking in Marking.values else ""

    def headline(self) -> str:
        """ "TLP:AMBER — visible to 3 organisations (12 people):" and the like."""
        if self.public:
            return _(
                "%(marking)s — public: anyone can read it, also outside the network and "
                "without signing in."
            ) % {"marking": self.marking_label}
        organisations = ngettext(
            "%(n)d organisation", "%(n)d organisations", self.organisation_count
        ) % {"n": self.organisation_count}
        people = ngettext("%(n)d person", "%(n)d people", self.people) % {"n": self.people}
        if self.marking == Marking.RED:
            return _("%(marking)s — visible only to the people you name (%(people)s in all):") % {
                "marking": self.marking_label,
                "people": people,
            }
        return _("%(marking)s — visible to %(organisations)s (%(people)s):") % {
            "marking": self.marking_label,
            "organisations": organisations,
            "people": people,
        }

    def parts(self) -> list[str]:
        """Who, in words: one entry per kind of reader, joined by the template."""
        if self.public:
            return []
        parts: list[str] = []
        if self.marking == Marking.RED:
            parts.extend(self.recipients)
        elif self.audience == Audience.NETWORK:
            parts.append(_("every member organisation of the network in good standing"))
        elif self.audience == Audience.GROUPS:
            for group in self.groups:
                if group.organisations:
                    parts.append(
                        _("the members of working group %(group)s (%(names)s)")
                        % {"group": group.name, "names": ", ".join(group.organisations)}
                    )
                elif group.organisations is None:
                    parts.append(
                        ngettext(
                            "the members of working group %(group)s (%(n)d organisation)",
                            "the members of working group %(group)s (%(n)d organisations)",
                            group.count,
                        )
                        % {"group": group.name, "n": group.count}
                    )
                else:
                    parts.append(
                        _("the members of working group %(group)s (no other organisation yet)")
                        % {"group": group.name}
                    )
        elif self.audience == Audience.ORGANISATIONS:
            if self.organisations:
                parts.append(
                    _("the organisations %(names)s") % {"names": ", ".join(self.organisations)}
                )
        elif self.audience == Audience.GOVERNMENT:
            if self.organisations:
                parts.append(
                    _("the government bodies %(names)s") % {"names": ", ".join(self.organisations)}
                )
            elif self.organisations is None:
                parts.append(_("the government bodies of the network"))
        if self.coordinators:
            parts.append(_("the coordinators"))
        if self.own_organisation:
            parts.append(_("your organisation"))
        return parts

    def who(self) -> str:
        """The parts as one phrase: "a, b and c."."""
        parts = self.parts()
        if not parts:
            return ""
        if len(parts) == 1:
            return parts[0] + "."
        return _("%(list)s and %(last)s.") % {"list": ", ".join(parts[:-1]), "last": parts[-1]}

    def reporter_sentence(self) -> str:
        if self.anonymous:
            return _(
                "Nobody, not even the coordinator, will see who filed it; your organisation "
                "will find it under My organisation's reports."
            )
        if self.attribution == Attribution.PSEUDONYMOUS:
            return _(
                "Others will see the reporter as: %(label)s. Only the coordinators can find "
                "out who filed it, and every time they do it is recorded."
            ) % {"label": self.reporter_label}
        return _("Others will see the reporter as: %(label)s.") % {"label": self.reporter_label}


def _probe(draft: ReportDraft) -> ReportDraft:
    """The draft reduced to what decides visibility, so that a half-written
    title or observable does not stop the preview."""
    kind = draft.kind if draft.kind in Kind.values else Kind.INCIDENT
    return ReportDraft(
        kind=kind,
        title=_("Audience preview"),
        marking=draft.marking,
        audience=draft.audience,
        audience_groups=list(draft.audience_groups),
        audience_organisations=list(draft.audience_organisations),
        recipients=list(draft.recipients),
        attribution=draft.attribution,
    )


def audience_preview(
    user: Any, draft: ReportDraft, organisation_id: int | None, *, current: Any = None
) -> AudiencePreview:
    """Who would see ``draft`` if ``user`` filed it now for ``organisation_id``.

    ``current`` is the report being edited: its reporter label is kept, and a
    relaxed marking is flagged. Problems with the distribution come back in
    ``errors`` (field -> message) rather than as an exception.
    """
    probe = _probe(draft)
    if current is not None:
        probe = dataclasses.replace(probe, attribution=current.attribution)
    result = AudiencePreview(
        marking=probe.marking, audience=probe.audience, attribution=probe.attribution
    )
    try:
        # Read-only checks first: a draft the service refuses needs no dry run.
        policy.require_can_share(user)
        acting_organisation(user, organisation_id)
        clean_draft(user, probe)
        population = _population()
        with transaction.atomic():
            try:
                report = create_report(user, probe, organisation_id=organisation_id)
                seeing = _decide(population, report)
                _describe(result, user, report, population, seeing)
            finally:
                transaction.set_rollback(True)  # a dry run: nothing it wrote is kept
    except SharingError as exc:
        result.errors = {
            name: message for name, message in exc.errors.items() if name in DISTRIBUTION_FIELDS
        } or {"__all__": exc.message}
        if "organisation" in result.errors:  # the message says more than the field's note
            result.errors["organisation"] = exc.message
        return result
    if current is not None:
        result.reporter_label = public_reporter_label(current)
        if MARKING_RANK.get(probe.marking, 99) < MARKING_RANK[current.marking]:
            result.relaxed_from = str(Marking(current.marking).label)
    return result


@dataclass
class _Population:
    """Everyone who could read a report, grouped by what the policy looks at."""

    coordinators: set[int]
    orgs_of: dict[int, frozenset[int]]
    alike: dict[tuple[bool, frozenset[int]], list[int]]
    stand_ins: dict[int, Any]


def _population() -> _Population:
    """Read before the dry run, so that its transaction — which holds the write
    lock on SQLite — stays short: the costly part of each answer, the person's
    standing and sharing context, is computed here and cached on the person.
    (Which anonymous reports a person's organisations filed is worked out only
    when the policy is asked, inside the dry run, so the draft is among them.)"""
    people = list(
        get_user_model()
        .objects.filter(is_active=True)
        .values_list("pk", "is_coordinator", "is_superuser")
    )
    memberships: dict[int, set[int]] = defaultdict(set)
    for user_id, org_id in (
        Membership.objects.active()
        .filter(user__is_active=True)
        .values_list("user_id", "organisation_id")
    ):
        memberships[user_id].add(org_id)
    orgs_of = {pk: frozenset(memberships.get(pk, ())) for pk, _c, _s in people}
    coordinators = {
        pk for pk, is_coordinator, is_superuser in people if is_coordinator or is_superuser
    }
    alike: dict[tuple[bool, frozenset[int]], list[int]] = defaultdict(list)
    for pk, _c, _s in people:
        alike[(pk in coordinators, orgs_of[pk])].append(pk)
    stand_ins = get_user_model().objects.in_bulk([ids[0] for ids in alike.values()])
    for person in stand_ins.values():
        policy.sharing_context(person)
    return _Population(coordinators, orgs_of, dict(alike), stand_ins)


def _decide(population: _Population, report: Any) -> set[int]:
    """The people who may see ``report``, each group answered by the policy once.
    Named recipients (TLP:RED) are a group of their own."""
    recipients = set(report.recipients.values_list("pk", flat=True))
    seeing: set[int] = set()
    for ids in population.alike.values():
        for named in (True, False):
            part = [pk for pk in ids if (pk in recipients) == named]
            if not part:
                continue
            person = population.stand_ins.get(part[0]) or get_user_model().objects.get(pk=part[0])
            if policy.reports_visible_to(person).filter(pk=report.pk).exists():
                seeing.update(part)
    return seeing


def _describe(
    result: AudiencePreview, user: Any, report: Any, population: _Population, seeing: set[int]
) -> None:
    """Turn who sees it into what the preview says."""
    own_id = policy.reporting_organisation_id(user, report)
    result.marking, result.audience = report.marking, report.audience
    result.reporter_label = public_reporter_label(report)
    result.public = report.marking == Marking.CLEAR
    coordinators = population.coordinators

    # An organisation "sees" the report when every one of its people does.
    members: dict[int, set[int]] = defaultdict(set)
    for user_id, org_ids in population.orgs_of.items():
        for org_id in org_ids:
            members[org_id].add(user_id)
    reached = {org_id for org_id, ids in members.items() if ids <= seeing}

    result.people = len(seeing)
    result.organisation_count = len(reached)
    result.own_organisation = own_id in reached
    result.coordinators = bool(coordinators) and coordinators <= seeing
    others = reached - {own_id}
    names = dict(Organisation.objects.filter(pk__in=others).values_list("pk", "name"))

    if report.marking == Marking.RED:
        result.recipients = _recipient_labels(user, report)
        result.organisations = None
        return
    if report.audience == Audience.NETWORK:
        result.organisations = None  # "every member": a list would be long and says nothing
    elif report.audience == Audience.GROUPS:
        _describe_groups(result, user, report, others, names)
    elif report.audience == Audience.ORGANISATIONS:
        chosen = list(report.audience_organisations.order_by("name").values_list("pk", "name"))
        result.organisations = [name for pk, name in chosen if pk in reached and pk != own_id]
        result.unreached = [name for pk, name in chosen if pk not in reached]
    elif report.audience == Audience.GOVERNMENT:
        government = [
            org.name
            for org in Organisation.objects.filter(pk__in=others).order_by("name")
            if org.is_government
        ]
        result.organisations = government if len(government) <= MAX_NAMES else None
    else:  # coordination: the coordinators (and the reporter) alone
        result.organisations = []


def _describe_groups(
    result: AudiencePreview, user: Any, report: Any, others: set[int], names: dict[int, str]
) -> None:
    groups = list(report.audience_groups.order_by("name"))
    # Only those who may see a confidential group's full roster may learn who is in it.
    withheld = any(
        g.is_confidential and not (policy.is_coordinator(user) or policy.is_group_owner(user, g))
        for g in groups
    )
    result.names_withheld = withheld
    for group in groups:
        in_group = (
            set(
                GroupMembership.objects.filter(
                    group=group, state=GroupMembership.State.ACTIVE
                ).values_list("organisation_id", flat=True)
            )
            & others
        )
        listed = sorted(names[pk] for pk in in_group)
        shown = None if withheld or len(listed) > MAX_NAMES else listed
        result.groups.append(GroupReach(group.name, shown, len(listed)))
    result.organisations = None if withheld else sorted(names.values())


def _recipient_labels(user: Any, report: Any) -> list[str]:
    """Each named recipient as the person filing may know them: name and organisation
    for the people of their own organisations (a coordinator knows everyone), else
    only the user name they typed — rosters of other organisations are not theirs
    to see."""
    coordinator = policy.is_coordinator(user)
    own = set(policy.sharing_context(user).member_org_ids)
    labels = []
    for person in report.recipients.order_by("username"):
        orgs = [
            m.organisation
            for m in Membership.objects.active().filter(user=person).select_related("organisation")
        ]
        known = [org.name for org in orgs if coordinator or org.pk in own]
        if known:
            labels.append(f"{person.display_name} ({', '.join(sorted(known))})")
        elif person.is_coordinator or person.is_superuser:
            labels.append(_("%(name)s (coordinator)") % {"name": person.get_username()})
        else:
            labels.append(person.get_username())
    return labels
