"""An independent model of who may see what in trusted sharing, for the
property-based test (tests/test_sharing_policy_property.py).

It is written from the rules as the network states them, over plain Python
descriptions of a network (the specs below), and deliberately shares no code
with ``accord.policy``: two implementations that agree on many random networks
are much more likely to be right than one that agrees with itself.

The rules, as modelled here:

- An organisation is *active* when it is verified, and *in good standing*
  when it is also up to date with every published rule document.
- A person is in good standing when they are a coordinator, or an (active)
  member of an organisation in good standing.
- A report's reporting organisation's members (active membership, standing
  irrelevant) always see it, withdrawn or not, whatever its attribution.
- Otherwise a withdrawn report is seen by nobody. TLP:CLEAR is seen by
  everybody, signed in or not. Anything else needs good standing, then:
  RED goes to its named recipients only; coordinators see all the rest;
  GREEN/AMBER/AMBER+STRICT go to the audience: "network" — members of an
  organisation in good standing; "groups" — members of an organisation in
  good standing that has an active member in one of the report's groups;
  "organisations" — members of a chosen organisation that is in good
  standing; "government" — members of a government body in good standing;
  "coordination" — coordinators only.
- Comments of a visible report: CLEAR ones for everyone who sees the report;
  others need good standing; a RED comment only for the report's named
  recipients, the reporting organisation's members and the commenter's
  organisation's members.
- Sightings of a visible report: everyone in good standing; anyone else only
  their own organisation's named or pseudonymous sightings.
- Correlation: for an observable of a visible report, the number of *other*
  reports the viewer sees that mention it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

GOVERNMENT_GROUPS = frozenset(
    {"government-civilian", "government-defence", "regulator", "foreign-affairs"}
)
MARKINGS = ["clear", "green", "amber", "amber+strict", "red"]
RANK = {marking: rank for rank, marking in enumerate(MARKINGS)}

# Values a report may mention: documentation ranges and reserved names, none of
# them on the network's "too common" list, few enough that reports share them.
OBSERVABLE_POOL = [
    ("ipv4", "203.0.113.7"),
    ("ipv4", "198.51.100.23"),
    ("domain", "bad-actor.example"),
    ("domain", "cdn.phish.example.org"),
    ("cve", "CVE-2024-12345"),
    ("md5", "d41d8cd98f00b204e9800998ecf8427e"),
    ("email", "drop@mailer.example"),
]


@dataclass
class OrgSpec:
    word: str  # a made-up word in the name and slug, so any leak of either is found
    pk: int  # an unusual number, so a leaked id is found too
    stakeholder_group: str
    sector: str
    status: str  # when the network is built: verified, pending or suspended
    accepts: bool  # accepted the first published rules
    suspended_later: bool  # suspended after the reports were filed
    reaccepts: bool  # accepts the second version of the rules, if one is published

    @property
    def name(self) -> str:
        return f"{self.word} Networks"

    @property
    def slug(self) -> str:
        return f"{self.word.lower()}-org"

    @property
    def government(self) -> bool:
        return self.stakeholder_group in GOVERNMENT_GROUPS


@dataclass
class MembershipSpec:
    org: int
    analyst: bool
    representative: bool


@dataclass
class PersonSpec:
    coordinator: bool
    memberships: list[MembershipSpec] = field(default_factory=list)

    def org_ids(self) -> list[int]:
        return [m.org for m in self.memberships]


@dataclass
class GroupMemberSpec:
    person: int
    org: int
    state: str  # active, invited or requested


@dataclass
class GroupSpec:
    visibility: str
    members: list[GroupMemberSpec] = field(default_factory=list)


@dataclass
class ReportSpec:
    filer: int
    org: int
    kind: str
    marking: str
    audience: str
    groups: list[int]
    orgs: list[int]
    recipients: list[int]
    attribution: str
    observables: list[int]  # indexes into OBSERVABLE_POOL
    attachment: bool
    withdrawn: bool


@dataclass
class CommentSpec:
    author: int
    org: int
    report: int
    marking: str
    attribution: str
    parent: int | None  # index of an earlier comment on the same report


@dataclass
class SightingSpec:
    person: int
    org: int
    report: int
    attribution: str
    observable: int | None  # index into OBSERVABLE_POOL, one the report mentions


@dataclass
class NetworkSpec:
    orgs: list[OrgSpec]
    people: list[PersonSpec]
    groups: list[GroupSpec]
    reports: list[ReportSpec] = field(default_factory=list)
    comments: list[CommentSpec] = field(default_factory=list)
    sightings: list[SightingSpec] = field(default_factory=list)
    new_rules_version: bool = False
    searched: list[int] = field(default_factory=list)  # observables to search for

    def describe(self) -> str:
        """The network in a few readable lines, for failure messages."""
        lines = []
        for i, o in enumerate(self.orgs):
            lines.append(
                f"org{i} {o.word} pk={o.pk} {o.stakeholder_group} status={o.status} "
                f"accepts={o.accepts} suspended_later={o.suspended_later} reaccepts={o.reaccepts}"
            )
        for i, p in enumerate(self.people):
            roles = ", ".join(
                f"org{m.org}{'[A]' if m.analyst else ''}{'[R]' if m.representative else ''}"
                for m in p.memberships
            )
            lines.append(f"person{i}{' coordinator' if p.coordinator else ''}: {roles or '-'}")
        for i, g in enumerate(self.groups):
            members = ", ".join(f"person{m.person}@org{m.org}:{m.state}" for m in g.members)
            lines.append(f"group{i} ({g.visibility}): {members or '-'}")
        for i, r in enumerate(self.reports):
            lines.append(
                f"report{i} by person{r.filer}@org{r.org} {r.attribution} {r.marking} "
                f"audience={r.audience} groups={r.groups} orgs={r.orgs} "
                f"recipients={r.recipients} observables={r.observables} "
                f"attachment={r.attachment} withdrawn={r.withdrawn}"
            )
        for i, c in enumerate(self.comments):
            lines.append(
                f"comment{i} on report{c.report} by person{c.author}@org{c.org} "
                f"{c.marking} {c.attribution} parent={c.parent}"
            )
        for i, s in enumerate(self.sightings):
            lines.append(
                f"sighting{i} of report{s.report} by person{s.person}@org{s.org} "
                f"{s.attribution} observable={s.observable}"
            )
        lines.append(f"new rules version published afterwards: {self.new_rules_version}")
        lines.append(f"searched for: {[OBSERVABLE_POOL[o][1] for o in self.searched]}")
        return "\n".join(lines)


class Reference:
    """The rules applied to a network. ``final=False`` is the network while the
    reports are being filed; ``final=True`` after the later changes (suspensions,
    a new version of the rules). A viewer is a person's index, or None for a
    visitor who is not signed in."""

    def __init__(self, net: NetworkSpec, *, final: bool) -> None:
        self.net = net
        self.final = final

    # --- organisations and people ------------------------------------------

    def org_active(self, o: int) -> bool:
        spec = self.net.orgs[o]
        if spec.status != "verified":
            return False
        return not (self.final and spec.suspended_later)

    def org_good(self, o: int) -> bool:
        spec = self.net.orgs[o]
        if not self.org_active(o):
            return False
        if self.final and self.net.new_rules_version:
            return spec.reaccepts
        return spec.accepts

    def active_orgs(self, viewer: int | None) -> set[int]:
        if viewer is None:
            return set()
        return {o for o in self.net.people[viewer].org_ids() if self.org_active(o)}

    def good_orgs(self, viewer: int | None) -> set[int]:
        return {o for o in self.active_orgs(viewer) if self.org_good(o)}

    def coordinator(self, viewer: int | None) -> bool:
        return viewer is not None and self.net.people[viewer].coordinator

    def in_good_standing(self, viewer: int | None) -> bool:
        return self.coordinator(viewer) or bool(self.good_orgs(viewer))

    def sharing_orgs(self, person: int) -> set[int]:
        """Where a (non-coordinator) person files reports: good organisations in
        which they are an analyst or representative."""
        spec = self.net.people[person]
        return {
            m.org
            for m in spec.memberships
            if (m.analyst or m.representative) and self.org_good(m.org)
        }

    def can_be_recipient(self, person: int) -> bool:
        """A RED report may name coordinators and members of verified organisations."""
        return self.coordinator(person) or bool(self.active_orgs(person))

    def group_visible_to(self, g: int, person: int) -> bool:
        """Which groups a person in good standing can address a report to."""
        group = self.net.groups[g]
        if group.visibility != "confidential" or self.coordinator(person):
            return True
        return any(m.person == person for m in group.members)

    # --- reports ---------------------------------------------------------------

    def is_reporter(self, viewer: int | None, r: int) -> bool:
        return self.net.reports[r].org in self.active_orgs(viewer)

    def sees(self, viewer: int | None, r: int) -> bool:
        report = self.net.reports[r]
        if self.is_reporter(viewer, r):
            return True
        if report.withdrawn and self.final:
            return False
        if report.marking == "clear":
            return True
        if not self.in_good_standing(viewer):
            return False
        if report.marking == "red":
            return viewer in report.recipients
        if self.coordinator(viewer):
            return True
        good = self.good_orgs(viewer)
        if report.audience == "network":
            return bool(good)
        if report.audience == "groups":
            return any(
                member.state == "active" and member.org in good
                for g in report.groups
                for member in self.net.groups[g].members
            )
        if report.audience == "organisations":
            return bool(good & set(report.orgs))
        if report.audience == "government":
            return any(self.net.orgs[o].government for o in good)
        if report.audience == "coordination":
            return False
        raise AssertionError(f"unknown audience {report.audience}")

    def visible_reports(self, viewer: int | None) -> set[int]:
        return {r for r in range(len(self.net.reports)) if self.sees(viewer, r)}

    def can_participate(self, person: int, r: int) -> bool:
        """Comment on or sight a report: someone acting for an organisation in good
        standing, on a report they see that is not withdrawn. (The generator only
        lets non-coordinators act, so coordinators never need a rule here.)"""
        return bool(self.good_orgs(person)) and self.sees(person, r)

    # --- what hangs off a report -------------------------------------------------

    def sees_comment(self, viewer: int | None, c: int) -> bool:
        comment = self.net.comments[c]
        if not self.sees(viewer, comment.report):
            return False
        if comment.marking == "clear":
            return True
        if not self.in_good_standing(viewer):
            return False
        if comment.marking != "red":
            return True
        report = self.net.reports[comment.report]
        return (
            viewer in report.recipients
            or self.is_reporter(viewer, comment.report)
            or comment.org in self.active_orgs(viewer)
        )

    def visible_comments(self, viewer: int | None, r: int) -> set[int]:
        return {
            c
            for c, comment in enumerate(self.net.comments)
            if comment.report == r and self.sees_comment(viewer, c)
        }

    def sees_sighting(self, viewer: int | None, s: int) -> bool:
        sighting = self.net.sightings[s]
        if not self.sees(viewer, sighting.report):
            return False
        if self.in_good_standing(viewer):
            return True
        return sighting.attribution != "anonymous" and sighting.org in self.active_orgs(viewer)

    def visible_sightings(self, viewer: int | None, r: int) -> set[int]:
        return {
            s
            for s, sighting in enumerate(self.net.sightings)
            if sighting.report == r and self.sees_sighting(viewer, s)
        }

    def correlation(self, viewer: int | None, r: int, observable: int) -> int:
        """How many other reports the viewer sees mention this observable."""
        return sum(
            1
            for other in self.visible_reports(viewer)
            if other != r and observable in self.net.reports[other].observables
        )

    def mentioning(self, viewer: int | None, observable: int) -> set[int]:
        """Search by an observable: the reports the viewer sees that mention it."""
        return {
            r for r in self.visible_reports(viewer) if observable in self.net.reports[r].observables
        }

    # --- who may learn who the reporter is -----------------------------------------

    def hides_reporter_from(self, viewer: int | None, r: int) -> bool:
        """An anonymous reporter is hidden from everyone outside its organisation,
        coordinators included; a pseudonymous one too (a coordinator may look it up,
        but only by an explicit, audited action, which the test never takes)."""
        report = self.net.reports[r]
        if report.attribution == "named":
            return False
        return report.org not in set(
            self.net.people[viewer].org_ids() if viewer is not None else []
        )
