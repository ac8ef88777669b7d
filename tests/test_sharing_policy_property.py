"""Property: on random networks, every interface shows each person exactly what
the sharing rules allow — no more, no less — and never who is behind an
anonymous or pseudonymous report.

Hypothesis generates a network (organisations of several kinds and states,
working groups, people with one or two organisations and random roles), files
random reports through the real services (markings, audiences, attribution,
observables from a small pool so that correlations happen, attachments), adds
comments and sightings, withdraws some reports, and then changes the network
(an organisation suspended, a new version of the rules that not everyone
accepts). For every person and for a visitor who is not signed in it then
compares, against the independent model in ``tests/sharing_reference.py``:
the access policy itself; the web feed (withdrawn reports stay off it), the
"my organisation's reports" list and every detail page with its comments,
sightings and correlation counts; the API's list, detail, comments and
sightings; search by observable on both; and attachment downloads on both.
Nothing a viewer receives may carry a trace (title, id, text) of what they may
not see, and nothing about a hidden reporter (its organisation's name, slug or
id, or the filer's name) may reach anyone outside that organisation — on
detail pages, lists, comments, sightings or the version history.

A hand-made network (``edge_cases``) runs first, so that the rarer cases are
always covered. Each example runs in its own rolled-back transaction
(``hypothesis.extra.django.TestCase``). The random examples are derandomised so
that CI runs the same networks every time; set ACCORD_PROPERTY_EXAMPLES (and
ACCORD_PROPERTY_RANDOM=1 for fresh networks) to explore more locally.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from html import unescape
from typing import Any
from urllib.parse import quote

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from accord import policy
from accord.accounts.services import create_token
from accord.sharing.models import Report
from accord.sharing.services import attachments as attachment_service
from accord.sharing.services.attachments import add_attachment
from accord.sharing.services.correlation import correlations_for_report
from accord.sharing.services.drafts import ObservableInput, ReportDraft
from accord.sharing.services.participation import add_comment, record_sighting
from accord.sharing.services.reports import create_report, withdraw_report
from accord.sharing.services.search import ReportFilters, search_reports
from accord.workgroups.models import GroupMembership, WorkingGroup
from tests import factories as f
from tests.sharing_reference import (
    MARKINGS,
    OBSERVABLE_POOL,
    RANK,
    CommentSpec,
    GroupMemberSpec,
    GroupSpec,
    MembershipSpec,
    NetworkSpec,
    OrgSpec,
    PersonSpec,
    Reference,
    ReportSpec,
    SightingSpec,
)

EXAMPLES = int(os.environ.get("ACCORD_PROPERTY_EXAMPLES", "25"))
RANDOM = os.environ.get("ACCORD_PROPERTY_RANDOM") == "1"

# Made-up words: an organisation's name and slug carry one, so a leak is unmistakable.
ORG_WORDS = ["Zarnoth", "Quelvane", "Brixomar", "Tolvurin", "Myxaphor", "Drelquist"]
STAKEHOLDERS = [
    "private-sector",
    "network-operator",
    "csirt",
    "government-civilian",
    "government-defence",
    "regulator",
]
SECTORS = ["energy", "transport", "banking"]
KINDS = ["incident", "vulnerability", "advisory", "measure"]
# Working groups twice: their rule has the most parts.
AUDIENCES = ["network", "groups", "groups", "organisations", "government", "coordination"]
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


# --- Generating networks --------------------------------------------------------------


def weighted(true: int, false: int) -> st.SearchStrategy[bool]:
    return st.sampled_from([True] * true + [False] * false)


@st.composite
def networks(draw: Any) -> NetworkSpec:
    n_orgs = draw(st.integers(3, 6))
    words = draw(st.permutations(ORG_WORDS))[:n_orgs]
    pks = draw(
        st.lists(st.integers(700_000, 799_999), min_size=n_orgs, max_size=n_orgs, unique=True)
    )
    orgs = []
    for i in range(n_orgs):
        first = i == 0  # someone must be able to share
        orgs.append(
            OrgSpec(
                word=words[i],
                pk=pks[i],
                stakeholder_group=draw(st.sampled_from(STAKEHOLDERS)),
                sector=draw(st.sampled_from(SECTORS)),
                status="verified"
                if first
                else draw(st.sampled_from(["verified"] * 5 + ["pending", "suspended"])),
                accepts=True if first else draw(weighted(2, 1)),
                suspended_later=draw(weighted(1, 7)),
                reaccepts=draw(weighted(1, 1)),
            )
        )

    n_people = draw(st.integers(4, 7))
    people = []
    for i in range(n_people):
        if i == 0:  # an analyst of the first organisation, perhaps of another too
            others = draw(st.lists(st.integers(1, n_orgs - 1), max_size=1))
            memberships = [MembershipSpec(0, analyst=True, representative=draw(st.booleans()))]
            memberships += [
                MembershipSpec(o, analyst=draw(st.booleans()), representative=draw(st.booleans()))
                for o in others
            ]
            people.append(PersonSpec(coordinator=False, memberships=memberships))
            continue
        coordinator = i == 1 or draw(weighted(1, 7))
        org_ids = draw(
            st.lists(st.integers(0, n_orgs - 1), max_size=1 if coordinator else 2, unique=True)
        )
        people.append(
            PersonSpec(
                coordinator=coordinator,
                memberships=[
                    MembershipSpec(
                        o, analyst=draw(weighted(3, 1)), representative=draw(st.booleans())
                    )
                    for o in org_ids
                ],
            )
        )

    seats = [(p, m.org) for p, person in enumerate(people) for m in person.memberships]
    groups = []
    for _ in range(draw(st.integers(1, 3))):
        chosen = draw(st.lists(st.sampled_from(seats), max_size=4, unique_by=lambda s: s[0]))
        groups.append(
            GroupSpec(
                visibility=draw(st.sampled_from(["open", "invite-only", "confidential"])),
                members=[
                    GroupMemberSpec(
                        p, o, draw(st.sampled_from(["active", "active", "invited", "requested"]))
                    )
                    for p, o in chosen
                ],
            )
        )

    net = NetworkSpec(orgs=orgs, people=people, groups=groups)
    now = Reference(net, final=False)  # the network while reports are filed
    filers = [
        (p, o)
        for p, person in enumerate(people)
        if not person.coordinator
        for o in sorted(now.sharing_orgs(p))
    ]
    for _ in range(draw(st.integers(3, 7))):
        net.reports.append(draw_report(draw, now, filers))

    for _ in range(draw(st.integers(1, 6))):
        comment = draw_comment(draw, now, len(net.comments))
        if comment is not None:
            net.comments.append(comment)
    for _ in range(draw(st.integers(1, 6))):
        sighting = draw_sighting(draw, now)
        if sighting is not None:
            net.sightings.append(sighting)
    for report in net.reports:
        report.withdrawn = draw(weighted(1, 4))
    net.new_rules_version = draw(weighted(1, 1))
    used = sorted({o for report in net.reports for o in report.observables})
    if used:  # a search costs a request per person and interface: one value will do
        net.searched = [draw(st.sampled_from(used))]
    return net


def draw_report(draw: Any, now: Reference, filers: list[tuple[int, int]]) -> ReportSpec:
    net = now.net
    person, org = draw(st.sampled_from(filers))
    attribution = draw(st.sampled_from(["named", "pseudonymous", "anonymous"]))
    hidden = attribution != "named"
    marking = draw(st.sampled_from(MARKINGS))
    audience, groups, orgs, recipients = "network", [], [], []
    if marking == "red":
        # Whom a RED report may name; a hidden reporter does not name itself.
        candidates = [
            q
            for q in range(len(net.people))
            if now.can_be_recipient(q) and not (hidden and q == person)
        ]
        recipients = draw(
            st.lists(st.sampled_from(candidates), min_size=1, max_size=3, unique=True)
        )
    elif marking != "clear":
        audience = draw(st.sampled_from(AUDIENCES))
        if audience == "groups":
            candidates = [g for g in range(len(net.groups)) if now.group_visible_to(g, person)]
            if candidates:
                groups = draw(
                    st.lists(st.sampled_from(candidates), min_size=1, max_size=2, unique=True)
                )
            else:
                audience = "network"
        elif audience == "organisations":
            # Verified organisations; a hidden reporter does not list itself.
            candidates = [
                o for o in range(len(net.orgs)) if now.org_active(o) and not (hidden and o == org)
            ]
            if candidates:
                orgs = draw(
                    st.lists(st.sampled_from(candidates), min_size=1, max_size=3, unique=True)
                )
            else:
                audience = "network"
    return ReportSpec(
        filer=person,
        org=org,
        kind=draw(st.sampled_from(KINDS)),
        marking=marking,
        audience=audience,
        groups=groups,
        orgs=orgs,
        recipients=recipients,
        attribution=attribution,
        observables=draw(
            st.lists(st.integers(0, len(OBSERVABLE_POOL) - 1), min_size=1, max_size=3, unique=True)
        ),
        attachment=draw(st.booleans()),
        withdrawn=False,  # decided after the comments and sightings
    )


def participants(now: Reference, r: int) -> list[tuple[int, int]]:
    """Who may comment on or sight report ``r`` while the network is built, and for
    which organisation. Coordinators do not act for organisations here."""
    return [
        (p, o)
        for p, person in enumerate(now.net.people)
        if not person.coordinator and now.can_participate(p, r)
        for o in sorted(now.good_orgs(p))
    ]


def reporter_side(now: Reference, person: int, r: int) -> bool:
    """A member of a hidden reporter's organisation keeps its cover when taking part."""
    report = now.net.reports[r]
    return report.attribution != "named" and report.org in now.net.people[person].org_ids()


def draw_comment(draw: Any, now: Reference, index: int) -> CommentSpec | None:
    net = now.net
    r = draw(st.integers(0, len(net.reports) - 1))
    who = participants(now, r)
    if not who:
        return None
    person, org = draw(st.sampled_from(who))
    report = net.reports[r]
    marking = draw(st.sampled_from([m for m in MARKINGS if RANK[m] >= RANK[report.marking]]))
    if reporter_side(now, person, r):
        attribution = "pseudonymous"
    else:
        attribution = draw(st.sampled_from(["named", "pseudonymous"]))
    parents = [
        c for c in range(index) if net.comments[c].report == r and now.sees_comment(person, c)
    ]
    parent = draw(st.one_of(st.none(), st.sampled_from(parents))) if parents else None
    return CommentSpec(person, org, r, marking, attribution, parent)


def draw_sighting(draw: Any, now: Reference) -> SightingSpec | None:
    net = now.net
    r = draw(st.integers(0, len(net.reports) - 1))
    who = participants(now, r)
    if not who:
        return None
    person, org = draw(st.sampled_from(who))
    choices = ["pseudonymous", "anonymous"]
    if not reporter_side(now, person, r):
        choices.append("named")
    observables = net.reports[r].observables
    observable = draw(st.one_of(st.none(), st.sampled_from(observables))) if observables else None
    return SightingSpec(person, org, r, draw(st.sampled_from(choices)), observable)


# --- Building the network through the real services -----------------------------------


@dataclass
class Built:
    net: NetworkSpec
    orgs: list[Any]
    users: list[Any]
    report_ids: list[Any]
    comment_ids: list[Any]
    sighting_ids: list[Any]
    attachments: dict[int, Any]  # report index -> Attachment

    def person(self, index: int) -> Any:
        """A fresh user object: the policy caches a person's standing on it."""
        return get_user_model().objects.get(pk=self.users[index].pk)

    def viewer(self, index: int | None) -> Any:
        return AnonymousUser() if index is None else self.person(index)

    def report(self, index: int) -> Report:
        return Report.objects.get(pk=self.report_ids[index])


def build(net: NetworkSpec, files: list[Any]) -> Built:
    """File everything through the services. ``files`` collects the stored
    attachments, which the database's rollback does not remove."""
    f.publish_rules()
    orgs = []
    for spec in net.orgs:
        org = f.make_organisation(
            spec.name,
            id=spec.pk,
            slug=spec.slug,
            status=spec.status,
            stakeholder_group=spec.stakeholder_group,
            sectors=[spec.sector],
        )
        if spec.accepts:
            f.accept_rules(org)
        orgs.append(org)
    users = []
    for i, spec in enumerate(net.people):
        user = f.make_user(f"pe-{i}-x", coordinator=spec.coordinator, full_name=f"Pat pe-{i}-x")
        for m in spec.memberships:
            f.add_member(user, orgs[m.org], analyst=m.analyst, representative=m.representative)
        users.append(user)
    groups = []
    for i, spec in enumerate(net.groups):
        group = WorkingGroup.objects.create(
            name=f"Group gr{i}x", slug=f"gr{i}x", visibility=spec.visibility
        )
        for m in spec.members:
            GroupMembership.objects.create(
                group=group, user=users[m.person], organisation=orgs[m.org], state=m.state
            )
        groups.append(group)
    built = Built(net, orgs, users, [], [], [], {})

    for i, spec in enumerate(net.reports):
        draft = ReportDraft(
            kind=spec.kind,
            title=f"Report rp-{i}-x",
            summary=f"What happened: sm-{i}-x.",
            marking=spec.marking,
            audience=spec.audience,
            audience_groups=[groups[g].slug for g in spec.groups],
            audience_organisations=[orgs[o].slug for o in spec.orgs],
            recipients=[users[p].username for p in spec.recipients],
            attribution=spec.attribution,
            observables=[ObservableInput(OBSERVABLE_POOL[o][1]) for o in spec.observables],
        )
        report = create_report(built.person(spec.filer), draft, organisation_id=orgs[spec.org].pk)
        built.report_ids.append(report.pk)
        if spec.attachment:
            upload = SimpleUploadedFile(
                "note.txt", f"attached text at-{i}-x".encode(), content_type="text/plain"
            )
            attachment = add_attachment(built.person(spec.filer), report, upload)
            built.attachments[i] = attachment
            files.append(attachment_service.stored_path(attachment))

    for i, spec in enumerate(net.comments):
        comment = add_comment(
            built.person(spec.author),
            built.report(spec.report),
            body=f"Remark cm-{i}-x",
            marking=spec.marking,
            attribution=spec.attribution,
            parent_id=built.comment_ids[spec.parent] if spec.parent is not None else None,
            organisation_id=orgs[spec.org].pk,
        )
        built.comment_ids.append(comment.pk)
    for i, spec in enumerate(net.sightings):
        sighting = record_sighting(
            built.person(spec.person),
            built.report(spec.report),
            observable=OBSERVABLE_POOL[spec.observable][1] if spec.observable is not None else None,
            note=f"Seen sg-{i}-x",
            attribution=spec.attribution,
            organisation_id=orgs[spec.org].pk,
        )
        built.sighting_ids.append(sighting.pk)
    for i, spec in enumerate(net.reports):
        if spec.withdrawn:
            withdraw_report(built.person(spec.filer), built.report(i), reason="Mistaken")

    # Later the network changes: suspensions, and perhaps a new version of the rules.
    for org, spec in zip(orgs, net.orgs, strict=True):
        if spec.suspended_later:
            org.status = "suspended"
            org.save(update_fields=["status"])
    if net.new_rules_version:
        f.publish_rules("# Charter\n\nVersion two.")
        for org, spec in zip(orgs, net.orgs, strict=True):
            if spec.reaccepts:
                f.accept_rules(org)
    return built


# --- Comparing ------------------------------------------------------------------------


class Problems:
    def __init__(self) -> None:
        self.items: list[str] = []

    def expect(self, condition: bool, message: str) -> None:
        if not condition:
            self.items.append(message)

    def same(self, got: Any, want: Any, what: str) -> None:
        if got != want:
            self.items.append(f"{what}: got {sorted_repr(got)}, expected {sorted_repr(want)}")


def sorted_repr(value: Any) -> str:
    if isinstance(value, set | frozenset):
        return "{" + ", ".join(sorted(map(str, value))) + "}"
    return repr(value)


def who(viewer: int | None) -> str:
    return "visitor" if viewer is None else f"person{viewer}"


def names(indexes: Any, prefix: str) -> set[str]:
    return {f"{prefix}{i}" for i in indexes}


class Checker:
    """Compares one built network with the reference, interface by interface."""

    def __init__(self, built: Built) -> None:
        self.built = built
        self.net = built.net
        self.ref = Reference(built.net, final=True)
        self.problems = Problems()
        self.report_index = {str(pk): i for i, pk in enumerate(built.report_ids)}
        self.comment_index = {str(pk): i for i, pk in enumerate(built.comment_ids)}
        self.sighting_index = {str(pk): i for i, pk in enumerate(built.sighting_ids)}
        self.pool_index = {pair: i for i, pair in enumerate(OBSERVABLE_POOL)}
        self.searched = built.net.searched
        self.viewers: list[int | None] = [*range(len(self.net.people)), None]
        self._forbidden: dict[int | None, list[str]] = {}

    def reports_named(self, ids: Any) -> set[str]:
        return {f"report{self.report_index[str(pk)]}" for pk in ids if str(pk) in self.report_index}

    # --- the access policy itself -----------------------------------------------------

    def check_policy(self, viewer: int | None) -> None:
        user = self.built.viewer(viewer)
        ref, p = self.ref, self.problems
        label = f"policy, {who(viewer)}"
        visible = ref.visible_reports(viewer)
        p.same(
            self.reports_named(policy.reports_visible_to(user).values_list("pk", flat=True)),
            names(visible, "report"),
            f"{label}: reports_visible_to",
        )
        for r, pk in enumerate(self.built.report_ids):
            try:
                report = policy.get_report(user, pk)
            except policy.NotVisible:
                p.expect(
                    r not in visible, f"{label}: get_report(report{r}) refused a visible report"
                )
                continue
            if r not in visible:
                p.items.append(f"{label}: get_report(report{r}) returned an invisible report")
                continue
            p.same(
                {
                    f"comment{self.comment_index[str(pk)]}"
                    for pk in policy.comments_visible_to(user, report).values_list("pk", flat=True)
                },
                names(ref.visible_comments(viewer, r), "comment"),
                f"{label}: comments_visible_to(report{r})",
            )
            p.same(
                {
                    f"sighting{self.sighting_index[str(pk)]}"
                    for pk in policy.sightings_visible_to(user, report).values_list("pk", flat=True)
                },
                names(ref.visible_sightings(viewer, r), "sighting"),
                f"{label}: sightings_visible_to(report{r})",
            )
            p.same(
                len(policy.attachments_visible_to(user, report)),
                1 if r in self.built.attachments else 0,
                f"{label}: attachments_visible_to(report{r})",
            )
            for row in correlations_for_report(user, report):
                o = self.pool_index[(row.kind, row.value)]
                p.same(
                    row.reports,
                    ref.correlation(viewer, r, o),
                    f"{label}: correlation count of {row.value} on report{r}",
                )
                linked = self.reports_named(link.pk for link in row.links)
                p.expect(
                    linked <= names(ref.mentioning(viewer, o) - {r}, "report"),
                    f"{label}: correlation of {row.value} on report{r} links {sorted(linked)}",
                )
        for o in self.searched:
            value = OBSERVABLE_POOL[o][1]
            found = search_reports(user, ReportFilters(q=value)).values_list("pk", flat=True)
            p.same(
                self.reports_named(found),
                names(ref.mentioning(viewer, o), "report"),
                f"{label}: search_reports(q={value})",
            )

    # --- the web pages -------------------------------------------------------------------

    def check_web(self, viewer: int | None) -> None:
        client = clients.web
        client.logout()
        if viewer is not None:
            f.login(client, self.built.users[viewer])
        ref, p = self.ref, self.problems
        label = f"web, {who(viewer)}"
        visible = ref.visible_reports(viewer)

        # The feed lists what the viewer sees except withdrawn reports, which stay on
        # the reporting organisation's own list.
        live = {r for r in visible if not self.net.reports[r].withdrawn}
        page = self.get(client, viewer, "/reports/", f"{label}: the feed")
        if page is not None:
            p.same(linked_reports(self, page), names(live, "report"), f"{label}: the feed")
            self.check_hidden_reporters_in_list(viewer, page, f"{label}: the feed")
        if viewer is not None:
            page = self.get(client, viewer, "/reports/mine/", f"{label}: own reports")
            if page is not None:
                p.same(
                    linked_reports(self, page),
                    names({r for r in visible if ref.is_reporter(viewer, r)}, "report"),
                    f"{label}: own organisations' reports",
                )

        for r, pk in enumerate(self.built.report_ids):
            what = f"{label}: report{r}"
            response = client.get(f"/reports/{pk}/")
            self.scan(viewer, what, response)
            if r not in visible:
                p.same(response.status_code, 404, f"{what}: status")
                continue
            if response.status_code != 200:
                p.items.append(f"{what}: status {response.status_code}, expected 200")
                continue
            html = response.content.decode()
            p.expect(f"rp-{r}-x" in html, f"{what}: the page does not show the report's title")
            p.same(
                set(re.findall(r"cm-\d+-x", html)),
                {f"cm-{c}-x" for c in ref.visible_comments(viewer, r)},
                f"{what}: comments shown",
            )
            p.same(
                set(re.findall(r"sg-\d+-x", html)),
                {f"sg-{s}-x" for s in ref.visible_sightings(viewer, r)},
                f"{what}: sightings shown",
            )
            p.same(
                web_correlations(html),
                {
                    OBSERVABLE_POOL[o][1]: ref.correlation(viewer, r, o)
                    for o in self.net.reports[r].observables
                },
                f"{what}: correlation counts",
            )
            attachment = self.built.attachments.get(r)
            if attachment is not None:
                p.expect(
                    f"/reports/{pk}/attachments/{attachment.pk}/" in html,
                    f"{what}: the attachment is not offered",
                )
            self.check_hidden_reporter(viewer, r, html, what)
            if self.hidden_from(viewer, r):  # a version's author must not give it away
                history = self.get(client, viewer, f"/reports/{pk}/versions/", f"{what} history")
                if history is not None:
                    self.check_hidden_reporter(viewer, r, history, f"{what} history")

        for r, attachment in self.built.attachments.items():
            url = f"/reports/{self.built.report_ids[r]}/attachments/{attachment.pk}/"
            self.check_download(client, viewer, r, url, f"{label}: attachment of report{r}")

        for o in self.searched:
            value = OBSERVABLE_POOL[o][1]
            page = self.get(
                client, viewer, f"/reports/?q={quote(value)}", f"{label}: search {value}"
            )
            if page is not None:
                p.same(
                    linked_reports(self, page),
                    names(ref.mentioning(viewer, o) & live, "report"),
                    f"{label}: search for {value}",
                )

    # --- the API ----------------------------------------------------------------------------

    def check_api(self, viewer: int | None) -> None:
        client = clients.api  # never signed in: the token alone says who asks
        headers = {}
        if viewer is not None:
            _token, raw = create_token(self.built.users[viewer], name="property test")
            headers["HTTP_AUTHORIZATION"] = f"Bearer {raw}"
        ref, p = self.ref, self.problems
        label = f"API, {who(viewer)}"
        visible = ref.visible_reports(viewer)

        def get(url: str, what: str, expect: int = 200) -> Any:
            response = client.get(url, **headers)
            self.scan(viewer, what, response)
            if response.status_code != expect:
                p.items.append(f"{what}: status {response.status_code}, expected {expect}")
                return None
            return response.json() if expect == 200 else None

        listing = client.get("/api/v1/reports?limit=500", **headers)
        self.scan(viewer, f"{label}: list", listing)
        if viewer is None and listing.status_code == 401:
            return  # the API is for signed-in people; visitors read CLEAR reports on the web
        if listing.status_code != 200:
            p.items.append(f"{label}: list status {listing.status_code}")
            return
        items = listing.json()["items"]
        p.same(
            self.reports_named(item["id"] for item in items),
            names(visible, "report"),
            f"{label}: reports listed",
        )
        for item in items:
            r = self.report_index.get(item["id"])
            if r is not None:
                self.check_hidden_reporter(
                    viewer, r, json.dumps(item), f"{label}: list entry of report{r}"
                )

        hidden = set(range(len(self.built.report_ids))) - visible
        for r, pk in enumerate(self.built.report_ids):
            what = f"{label}: report{r}"
            if r not in visible:
                get(f"/api/v1/reports/{pk}", what, 404)
                if r == min(hidden):  # the sub-resources answer alike; one is enough
                    get(f"/api/v1/reports/{pk}/comments", f"{what} comments", 404)
                    get(f"/api/v1/reports/{pk}/sightings", f"{what} sightings", 404)
                continue
            detail = get(f"/api/v1/reports/{pk}", what)
            if detail is not None:
                self.check_hidden_reporter(viewer, r, json.dumps(detail), what)
                counts = {}
                for row in detail["observables"]:
                    o = self.pool_index[(row["kind"], row["value"])]
                    counts[row["value"]] = row["other_reports"]
                    linked = self.reports_named(row["reports"])
                    p.expect(
                        linked <= names(ref.mentioning(viewer, o) - {r}, "report"),
                        f"{what}: correlation of {row['value']} links {sorted(linked)}",
                    )
                p.same(
                    counts,
                    {
                        OBSERVABLE_POOL[o][1]: ref.correlation(viewer, r, o)
                        for o in self.net.reports[r].observables
                    },
                    f"{what}: correlation counts",
                )
                p.same(
                    len(detail["attachments"]),
                    1 if r in self.built.attachments else 0,
                    f"{what}: attachments listed",
                )
                p.same(
                    detail["sightings"]["records"],
                    len(ref.visible_sightings(viewer, r)),
                    f"{what}: sighting records in the summary",
                )
            comments = get(f"/api/v1/reports/{pk}/comments", f"{what} comments")
            if comments is not None:
                p.same(
                    {f"comment{self.comment_index[c['id']]}" for c in comments},
                    names(ref.visible_comments(viewer, r), "comment"),
                    f"{what}: comments",
                )
                self.check_hidden_reporter(viewer, r, json.dumps(comments), f"{what} comments")
            sightings = get(f"/api/v1/reports/{pk}/sightings", f"{what} sightings")
            if sightings is not None:
                p.same(
                    {f"sighting{self.sighting_index[s['id']]}" for s in sightings["sightings"]},
                    names(ref.visible_sightings(viewer, r), "sighting"),
                    f"{what}: sightings",
                )
                self.check_hidden_reporter(viewer, r, json.dumps(sightings), f"{what} sightings")
            if self.hidden_from(viewer, r):
                versions = get(f"/api/v1/reports/{pk}/versions", f"{what} versions")
                if versions is not None:
                    self.check_hidden_reporter(viewer, r, json.dumps(versions), f"{what} versions")

        for r, attachment in self.built.attachments.items():
            url = f"/api/v1/reports/{self.built.report_ids[r]}/attachments/{attachment.pk}"
            self.check_download(
                client, viewer, r, url, f"{label}: attachment of report{r}", headers
            )

        for o in self.searched:
            value = OBSERVABLE_POOL[o][1]
            found = get(f"/api/v1/reports?limit=500&q={quote(value)}", f"{label}: search {value}")
            if found is not None:
                p.same(
                    self.reports_named(item["id"] for item in found["items"]),
                    names(ref.mentioning(viewer, o), "report"),
                    f"{label}: search for {value}",
                )

    # --- shared by both -------------------------------------------------------------------

    def get(self, client: Client, viewer: int | None, url: str, what: str) -> str | None:
        response = client.get(url)
        self.scan(viewer, what, response)
        if response.status_code != 200:
            self.problems.items.append(f"{what}: status {response.status_code}, expected 200")
            return None
        return response.content.decode()

    def check_download(
        self,
        client: Client,
        viewer: int | None,
        r: int,
        url: str,
        what: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        response = client.get(url, **(headers or {}))
        if r in self.ref.visible_reports(viewer):
            self.problems.same(response.status_code, 200, f"{what}: status")
            if response.status_code == 200:
                self.problems.same(
                    b"".join(response.streaming_content),
                    f"attached text at-{r}-x".encode(),
                    f"{what}: content",
                )
        else:
            self.problems.same(response.status_code, 404, f"{what}: status")
            self.scan(viewer, what, response)

    def forbidden(self, viewer: int | None) -> list[str]:
        """What must appear in nothing this viewer receives: every trace of the
        reports, comments and sightings they may not see."""
        cached = self._forbidden.get(viewer)
        if cached is not None:
            return cached
        ref, built = self.ref, self.built
        tokens = []
        for r, pk in enumerate(built.report_ids):
            if r not in ref.visible_reports(viewer):
                tokens += [f"rp-{r}-x", f"sm-{r}-x", f"at-{r}-x", str(pk)]
                if r in built.attachments:
                    tokens.append(str(built.attachments[r].pk))
        for c, pk in enumerate(built.comment_ids):
            if not ref.sees_comment(viewer, c):
                tokens += [f"cm-{c}-x", str(pk)]
        for s, pk in enumerate(built.sighting_ids):
            if not ref.sees_sighting(viewer, s):
                tokens += [f"sg-{s}-x", str(pk)]
        self._forbidden[viewer] = tokens
        return tokens

    def scan(self, viewer: int | None, what: str, response: Any) -> None:
        if getattr(response, "streaming", False):
            return  # downloads are checked by status and content
        text = response.content.decode(errors="replace")
        leaked = [token for token in self.forbidden(viewer) if token in text]
        if leaked:
            self.problems.items.append(f"{what}: the response contains {leaked}")

    def hidden_from(self, viewer: int | None, r: int) -> list[str]:
        """The marks of a hidden reporter that this viewer must not receive."""
        if not self.ref.hides_reporter_from(viewer, r):
            return []
        spec = self.net.reports[r]
        return [self.net.orgs[spec.org].word.lower(), f"pe-{spec.filer}-x"]

    def check_hidden_reporter(self, viewer: int | None, r: int, text: str, what: str) -> None:
        marks = self.hidden_from(viewer, r)
        if not marks:
            return
        spec = self.net.reports[r]
        lowered = text.lower()
        leaked = [mark for mark in marks if mark in lowered]
        if number_in(self.net.orgs[spec.org].pk, text):
            leaked.append(str(self.net.orgs[spec.org].pk))
        if leaked:
            self.problems.items.append(
                f"{what}: the {spec.attribution} reporter org{spec.org} shows through {leaked}"
            )

    def check_hidden_reporters_in_list(self, viewer: int | None, text: str, what: str) -> None:
        """A list may name an organisation for its named reports, but must not give
        away a hidden reporter's id or filer, nor its name when nothing else on the
        list is named after it."""
        lowered = text.lower()
        for r in self.ref.visible_reports(viewer):
            if not self.hidden_from(viewer, r):
                continue
            spec = self.net.reports[r]
            org = self.net.orgs[spec.org]
            named_elsewhere = any(
                other.org == spec.org and other.attribution == "named"
                for o2, other in enumerate(self.net.reports)
                if o2 in self.ref.visible_reports(viewer)
            )
            filer = f"pe-{spec.filer}-x"
            leaked = [filer] if filer in lowered else []
            if not named_elsewhere and org.word.lower() in lowered:
                leaked.append(org.word)
            if number_in(org.pk, text):
                leaked.append(str(org.pk))
            if leaked:
                self.problems.items.append(
                    f"{what}: the {spec.attribution} reporter of report{r} (org{spec.org}) "
                    f"shows through {leaked}"
                )


def linked_reports(checker: Checker, html: str) -> set[str]:
    return checker.reports_named(re.findall(rf'href="/reports/({UUID})/"', html))


def number_in(number: int, text: str) -> bool:
    """The number as a token of its own (not inside an id, hash or token)."""
    return re.search(rf"(?<![0-9A-Za-z\-]){number}(?![0-9A-Za-z\-])", text) is not None


def web_correlations(html: str) -> dict[str, int | None]:
    """Observable value -> "seen in N other reports", from a detail page."""
    start = html.find('id="observables"')
    if start < 0:
        return {}
    section = html[start : html.find("</section>", start)]
    counts: dict[str, int | None] = {}
    for part in section.split('<code class="value">')[1:]:
        value = unescape(part.split("</code>", 1)[0])
        found = re.search(r'data-correlation-count="(\d+)"', part) or re.search(
            r"Seen in (\d+) other report", part
        )
        if found:
            counts[value] = int(found.group(1))
        elif "Not in any other report" in part:
            counts[value] = 0
        else:
            counts[value] = None
    return counts


def record_coverage(net: NetworkSpec) -> None:
    """What this network exercises (shown by --hypothesis-show-statistics)."""
    now, final = Reference(net, final=False), Reference(net, final=True)
    for report in net.reports:
        event(f"report: {report.attribution}")
        event(f"report: {report.marking}, audience {report.audience}")
    if any(r.withdrawn for r in net.reports):
        event("a report is withdrawn")
    if any(now.org_good(r.org) and not final.org_good(r.org) for r in net.reports):
        event("a reporting organisation lost its standing afterwards")
    if any(len(p.memberships) > 1 for p in net.people):
        event("someone belongs to two organisations")
    if any(c.marking == "red" for c in net.comments):
        event("a RED comment")
    if any(s.attribution == "anonymous" for s in net.sightings):
        event("an anonymous sighting")
    viewers = range(len(net.people))
    without_standing = [
        v for v in viewers if final.active_orgs(v) and not final.in_good_standing(v)
    ]
    if any(
        final.is_reporter(v, r) and net.reports[r].marking != "clear"
        for v in without_standing
        for r in range(len(net.reports))
    ):
        event("someone without standing sees their organisation's restricted report")
    if any(
        final.sees(v, s.report)
        and (s.attribution == "anonymous" or s.org not in final.active_orgs(v))
        for v in without_standing
        for s in net.sightings
    ):
        event("someone without standing sees a report with sightings hidden from them")
    if any(
        final.sees(v, r) and net.reports[r].audience == "groups" and not final.coordinator(v)
        for v in viewers
        for r in range(len(net.reports))
    ):
        event("someone sees a report through a working group")
    correlated = sum(
        final.correlation(v, r, o)
        for v in viewers
        for r in final.visible_reports(v)
        for o in net.reports[r].observables
    )
    event(f"correlations seen: {'none' if not correlated else 'some'}")


def edge_cases() -> NetworkSpec:
    """One network, always tested first, that holds the cases random networks reach
    only now and then: a reporting organisation that loses its standing (its member
    keeps seeing its reports, withdrawn ones too, but no longer the restricted
    comments, nor its own anonymous sighting), one that is suspended (its members
    see nothing of it any more), a RED report naming someone without standing and a
    coordinator who belongs to an organisation without standing, working groups
    whose only members are invited or come from organisations without standing,
    and a government audience."""
    orgs = [
        OrgSpec("Zarnoth", 731001, "private-sector", "energy", "verified", True, False, False),
        OrgSpec(
            "Quelvane", 731002, "government-civilian", "banking", "verified", True, False, True
        ),
        OrgSpec("Brixomar", 731003, "csirt", "transport", "verified", False, False, False),
        OrgSpec("Tolvurin", 731004, "network-operator", "energy", "verified", True, True, True),
        OrgSpec("Myxaphor", 731005, "regulator", "transport", "pending", True, False, True),
    ]
    analyst = [MembershipSpec(o, analyst=True, representative=False) for o in range(5)]
    people = [
        PersonSpec(False, [analyst[0]]),  # only in the organisation that lapses
        PersonSpec(True, [analyst[2]]),  # a coordinator, also in an organisation without standing
        PersonSpec(False, [analyst[1], analyst[2]]),  # good through the government body
        PersonSpec(False, [analyst[2]]),  # never in good standing
        PersonSpec(False, [analyst[3]]),  # in the organisation suspended later
        PersonSpec(False, [analyst[4]]),  # in an organisation still pending
        PersonSpec(False, [analyst[1], MembershipSpec(0, analyst=False, representative=True)]),
    ]
    groups = [
        GroupSpec("open", [GroupMemberSpec(2, 1, "active"), GroupMemberSpec(6, 0, "invited")]),
        GroupSpec("confidential", [GroupMemberSpec(3, 2, "active")]),
        GroupSpec(
            "invite-only", [GroupMemberSpec(5, 4, "active"), GroupMemberSpec(3, 2, "active")]
        ),
    ]
    net = NetworkSpec(orgs, people, groups, new_rules_version=True, searched=[1])

    def report(
        filer: int, org: int, attribution: str, marking: str, audience: str, **kw: Any
    ) -> None:
        net.reports.append(
            ReportSpec(
                filer=filer,
                org=org,
                kind=kw.get("kind", "incident"),
                marking=marking,
                audience=audience,
                groups=kw.get("groups", []),
                orgs=kw.get("orgs", []),
                recipients=kw.get("recipients", []),
                attribution=attribution,
                observables=kw.get("observables", [0]),
                attachment=kw.get("attachment", False),
                withdrawn=kw.get("withdrawn", False),
            )
        )

    report(0, 0, "anonymous", "amber", "network", observables=[0, 1], attachment=True)
    report(0, 0, "named", "red", "network", recipients=[3, 2, 1], observables=[1])
    report(2, 1, "pseudonymous", "green", "groups", groups=[0, 2], observables=[0, 2])
    report(4, 3, "named", "amber+strict", "organisations", orgs=[1, 2], attachment=True)
    report(6, 1, "anonymous", "amber", "government", kind="advisory", observables=[0, 3])
    report(0, 0, "named", "clear", "network", observables=[1, 3], withdrawn=True)
    report(2, 1, "named", "amber", "coordination", kind="measure", observables=[3])
    net.comments = [
        CommentSpec(2, 1, 0, "red", "named", None),
        CommentSpec(6, 1, 0, "amber", "pseudonymous", 0),
        CommentSpec(2, 1, 1, "red", "named", None),
        CommentSpec(2, 1, 5, "clear", "named", None),
        CommentSpec(2, 1, 5, "amber", "pseudonymous", 3),
    ]
    net.sightings = [
        SightingSpec(2, 1, 0, "anonymous", 0),
        SightingSpec(0, 0, 5, "anonymous", None),
        SightingSpec(0, 0, 5, "named", 1),
        SightingSpec(2, 1, 3, "pseudonymous", None),
        SightingSpec(2, 1, 5, "named", None),
    ]
    return net


class Clients:
    """Two test clients for the whole run: each new client sets up the middleware
    again, which costs more than all of an example's requests."""

    def __init__(self) -> None:
        self._web: Client | None = None
        self._api: Client | None = None

    @property
    def web(self) -> Client:
        if self._web is None:
            self._web = Client()
        return self._web

    @property
    def api(self) -> Client:
        if self._api is None:
            self._api = Client()
        return self._api


clients = Clients()


class SharingPolicyProperty(TestCase):
    """Each example runs in a transaction that is rolled back afterwards."""

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=not RANDOM,
        database=None,
        print_blob=True,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
        ],
    )
    @given(networks())
    @example(edge_cases())
    def test_every_interface_shows_what_the_rules_allow(self, net: NetworkSpec) -> None:
        record_coverage(net)
        files: list[Any] = []
        try:
            checker = Checker(build(net, files))
            for viewer in checker.viewers:
                checker.check_policy(viewer)
                checker.check_web(viewer)
                checker.check_api(viewer)
            problems = checker.problems.items
            assert not problems, (
                f"{len(problems)} disagreement(s) with the sharing rules:\n"
                + "\n".join(problems[:60])
                + "\n\nThe network:\n"
                + net.describe()
            )
        finally:
            for path in files:
                path.unlink(missing_ok=True)
