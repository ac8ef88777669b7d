"""The report wizard's form: it parses what a person typed into a ``ReportDraft``.

What is allowed, and for whom, is decided by ``services.drafts.clean_draft`` and
the access policy; this form only parses input and offers the choices the
policy allows (working groups and organisations the person may see, the
organisations they may file for). Its fields are grouped into the wizard's
steps, so that an error can be shown on the step that holds it.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from django import forms
from django.conf import settings
from django.forms.utils import ErrorDict
from django.utils.translation import gettext_lazy as _
from django_countries import countries

from accord import policy
from accord.membership.forms import PlainLabels, SectorChoiceField, TaskChoiceField
from accord.membership.models import Organisation

from .classification import (
    CORE_COMPONENT_HELP,
    EFFECT_FAMILY,
    EFFECT_FAMILY_LABELS,
    EFFECT_HELP,
    FACTORS,
    LEVELS,
    UNKNOWN,
    CoreComponent,
    Effect,
    incident_type_choices,
)
from .models import (
    KIND_HELP,
    MARKING_HELP,
    Attribution,
    Audience,
    Kind,
    Marking,
)
from .observables import MAX_VALUE_LENGTH, InvalidObservable, ObservableKind, parse
from .services.attachments import MAX_ATTACHMENTS_PER_REPORT
from .services.drafts import ObservableInput, ReportDraft

SEVERITY_PREFIX = "severity_"
MAX_PASTE = 500_000  # characters of pasted text searched for observables
NOTE_SEPARATOR = " # "  # "kind:value # note" in the structured list

ATTRIBUTION_HELP = {
    Attribution.NAMED: _(
        "Everyone who can read the report sees your organisation's name. Others can "
        "contact you, and your report carries the most weight."
    ),
    Attribution.PSEUDONYMOUS: _(
        "Others see only your sector and kind of organisation. The coordinators can find "
        "out who you are if they must, and each time they look it is recorded where your "
        "organisation can see it."
    ),
    Attribution.ANONYMOUS: _(
        "Nobody on the platform can tell who filed it — not other members, not the "
        "coordinators, not someone reading the database. Only your organisation can prove "
        "it filed the report, to edit it, withdraw it or later reveal itself."
    ),
}

AUDIENCE_HELP = {
    Audience.NETWORK: _("Every member organisation in good standing."),
    Audience.GROUPS: _("The organisations taking part in the working groups you choose."),
    Audience.ORGANISATIONS: _("Only the member organisations you choose."),
    Audience.GOVERNMENT: _("Government bodies and regulators that are members."),
    Audience.COORDINATION: _("Only the coordinators who run the network."),
}


def severity_field(code: str) -> str:
    return SEVERITY_PREFIX + code.replace("-", "_")


def paste_digest(text: str) -> str:
    """Marks which pasted text the checklist was made from."""
    return hashlib.sha256(text.strip().encode("utf-8", "replace")).hexdigest()[:16]


class MultipleFileInput(forms.FileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Any number of files from one ``<input type=file multiple>``."""

    widget = MultipleFileInput

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        items = [item for item in (data if isinstance(data, list | tuple) else [data]) if item]
        if len(items) > MAX_ATTACHMENTS_PER_REPORT:
            raise forms.ValidationError(
                _("Attach at most %(n)d files.") % {"n": MAX_ATTACHMENTS_PER_REPORT}
            )
        return [super(MultipleFileField, self).clean(item, initial) for item in items]


class OfferedValuesField(forms.MultipleChoiceField):
    """The checked rows of the extraction checklist: "kind:value" strings that
    the page itself offered. They are checked by parsing, not against a list,
    because the checklist is made by a separate request."""

    def valid_value(self, value: str) -> bool:
        return True


@dataclass
class Step:
    slug: str
    title: str
    fields: list[str]


def _lines(text: str) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def parse_structured(text: str) -> tuple[list[ObservableInput], list[str]]:
    """One observable a line: "value", "kind:value", either with " # note" after it."""
    found: list[ObservableInput] = []
    problems: list[str] = []
    for number, line in enumerate(_lines(text), start=1):
        value, _sep, note = line.partition(NOTE_SEPARATOR)
        value = value.strip()
        prefix, colon, rest = value.partition(":")
        kind = (
            prefix.strip().lower()
            if colon and prefix.strip().lower() in ObservableKind.values
            else None
        )
        if kind is not None:
            value = rest.strip()
        try:
            parse(value, kind)
        except InvalidObservable as exc:
            problems.append(_("Line %(n)d: %(problem)s") % {"n": number, "problem": str(exc)})
            continue
        found.append(ObservableInput(value=value, kind=kind, note=note.strip()[:300]))
    return found, problems


class ReportForm(PlainLabels, forms.Form):
    """The whole wizard as one form. ``report`` is the report being edited, if any."""

    # 1. Kind
    kind = forms.ChoiceField(
        label=_("What are you reporting?"),
        choices=Kind.choices,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose what kind of report this is.")},
    )
    organisation = forms.TypedChoiceField(
        label=_("Which of your organisations files it?"), coerce=int, required=False
    )

    # 2. What happened
    title = forms.CharField(
        label=_("Title"),
        max_length=200,
        required=False,
        help_text=_(
            "A short line others will recognise, e.g. “Phishing wave aimed at hospital staff”."
        ),
    )
    summary = forms.CharField(
        label=_("What happened"),
        required=False,
        max_length=20000,
        widget=forms.Textarea(attrs={"rows": 10}),
        help_text=_(
            "Describe it in your own words: what you saw, when, what it affected and what you "
            "did. You can use Markdown (*italic*, **bold**, lists, links)."
        ),
    )
    first_seen = forms.DateTimeField(
        label=_("First seen"),
        required=False,
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text=_("When it started, as far as you know. Leave empty if you do not know."),
    )
    last_seen = forms.DateTimeField(
        label=_("Last seen"),
        required=False,
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text=_("When it was last seen. Leave empty if it is still going on."),
    )
    sectors = SectorChoiceField(
        label=_("Affected sectors"),
        help_text=_("The critical sectors that were hit or could be hit."),
    )
    country_of_origin = forms.ChoiceField(
        label=_("Country of origin"),
        required=False,
        help_text=_("Where the activity came from, if that is known with some confidence."),
    )
    references = forms.CharField(
        label=_("References"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Links to advisories, articles or vendor notes: one web address per line."),
    )
    attachments = MultipleFileField(
        label=_("Attachments"),
        required=False,
        help_text=_(
            "Files that help others: a PDF, screenshots, logs, packet captures, rules "
            "(at most %(mb)d MB each)."
        )
        % {"mb": settings.ATTACHMENT_MAX_BYTES // (1024 * 1024)},
    )

    # 3. Classification
    effects = forms.MultipleChoiceField(
        label=_("What did the incident do?"),
        choices=Effect.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    incident_type = forms.ChoiceField(
        label=_("Type of incident"),
        required=False,
        help_text=_("From the Reference Security Incident Taxonomy used by CERTs in Europe."),
    )
    task_areas = TaskChoiceField(
        label=_("Task areas it touches"),
        help_text=_("The security tasks involved, and who is mainly responsible for each."),
    )
    core_components = forms.MultipleChoiceField(
        label=_("Parts of the internet's public core it touches"),
        choices=CoreComponent.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    # 5. Observables
    paste = forms.CharField(
        label=_("Paste text"),
        required=False,
        max_length=MAX_PASTE,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=_(
            "Paste a log excerpt, an e-mail or notes. Addresses, domains, links, file hashes "
            "and CVE ids are picked out — also when written defanged, like hxxp://evil[.]example."
        ),
    )
    extracted = OfferedValuesField(label=_("Found in the text"), required=False)
    extracted_digest = forms.CharField(required=False, widget=forms.HiddenInput)
    observables = forms.CharField(
        label=_("Observables, one a line"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_(
            "Type or paste one value a line. To be explicit about the kind, write it first: "
            "“domain:example.org”. Add a note after “ # ”."
        ),
    )

    # 6. Distribution
    marking = forms.ChoiceField(
        label=_("How may readers pass it on? (TLP marking)"),
        choices=Marking.choices,
        widget=forms.RadioSelect,
        initial=Marking.AMBER,
    )
    audience = forms.ChoiceField(
        label=_("Who in the network may read it?"),
        choices=Audience.choices,
        widget=forms.RadioSelect,
        initial=Audience.NETWORK,
        required=False,
    )
    audience_groups = forms.MultipleChoiceField(
        label=_("Working groups"), required=False, widget=forms.CheckboxSelectMultiple
    )
    audience_organisations = forms.MultipleChoiceField(
        label=_("Organisations"), required=False, widget=forms.CheckboxSelectMultiple
    )
    recipients = forms.CharField(
        label=_("Named recipients"),
        required=False,
        max_length=4000,
        help_text=_("The user names of the people who may read it, separated by commas or spaces."),
    )
    abroad_consent = forms.BooleanField(
        label=_("It may also go to peer countries' platforms"),
        required=False,
        help_text=_(
            "Only for TLP:AMBER, and only to peers whose agreement allows AMBER. "
            "TLP:CLEAR and TLP:GREEN need no consent; AMBER+STRICT and RED never leave the country."
        ),
    )
    attribution = forms.ChoiceField(
        label=_("Who may know that your organisation filed it?"),
        choices=Attribution.choices,
        widget=forms.RadioSelect,
        initial=Attribution.NAMED,
    )

    # 7. Review (editing only)
    note = forms.CharField(
        label=_("What changed"),
        required=False,
        max_length=500,
        help_text=_("A line for the version history, e.g. “Added two domains, raised severity”."),
    )

    def __init__(self, *args: Any, user: Any, report: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.report = report
        self._add_severity_fields()
        self.fields["country_of_origin"].choices = [("", _("Not known or not relevant"))] + [
            (code, name) for code, name in countries
        ]
        self.fields["incident_type"].choices = [("", _("Not classified yet"))] + [
            (category, list(types)) for category, types in incident_type_choices()
        ]
        self.fields["audience_groups"].choices = list(
            policy.groups_visible_to(user).order_by("name").values_list("slug", "name")
        )
        self.fields["audience_organisations"].choices = list(
            policy.organisations_visible_to(user)
            .filter(status=Organisation.Status.VERIFIED)
            .order_by("name")
            .values_list("slug", "name")
        )
        if report is not None:
            # Attribution changes only by revealing; the organisation is the reporter's;
            # attachments are added and removed on the report's page.
            for name in ("attribution", "organisation", "attachments"):
                del self.fields[name]
        else:
            del self.fields["note"]
            own = list(
                Organisation.objects.filter(pk__in=policy.sharing_organisation_ids(user))
                .order_by("name")
                .values_list("pk", "name")
            )
            if len(own) > 1:
                self.fields["organisation"].choices = [("", _("Choose…"))] + own
                self.fields["organisation"].required = True
                self.fields["organisation"].error_messages["required"] = _(
                    "Choose the organisation that files this report."
                )
            else:
                del self.fields["organisation"]

    def _add_severity_fields(self) -> None:
        for factor in FACTORS:
            self.fields[severity_field(factor.code)] = forms.ChoiceField(
                label=factor.question,
                choices=[(option.code, option.label) for option in factor.options],
                widget=forms.RadioSelect,
                required=False,
                initial=UNKNOWN,
                help_text=factor.help,
            )

    # --- Parsing ---------------------------------------------------------------------

    def clean_references(self) -> list[str]:
        return _lines(self.cleaned_data.get("references", ""))

    def clean_recipients(self) -> list[str]:
        text = self.cleaned_data.get("recipients", "")
        return list(dict.fromkeys(name for name in re.split(r"[\s,;]+", text) if name))

    def clean_extracted(self) -> list[ObservableInput]:
        found = []
        for item in self.cleaned_data.get("extracted", []):
            kind, _colon, value = str(item).partition(":")
            if kind not in ObservableKind.values or not value or len(value) > MAX_VALUE_LENGTH:
                raise forms.ValidationError(
                    _("The list of found values was damaged; find them again.")
                )
            found.append(ObservableInput(value=value, kind=kind))
        return found

    def clean_observables(self) -> list[ObservableInput]:
        found, problems = parse_structured(self.cleaned_data.get("observables", ""))
        if problems:
            raise forms.ValidationError(problems[:10])
        return found

    def needs_extraction(self) -> bool:
        """Text was pasted but its checklist was never shown (or the text changed
        since): the person has not chosen what to keep yet."""
        text = (self.data.get("paste") or "").strip()
        return bool(text) and self.data.get("extracted_digest") != paste_digest(text)

    def forget_errors(self) -> None:
        """Show the form as typed, without complaints (what parsed stays parsed)."""
        self._errors = ErrorDict(renderer=self.renderer)

    def organisation_id(self) -> int | None:
        value = self.cleaned_data.get("organisation") if "organisation" in self.fields else None
        return value or None

    def to_draft(self) -> ReportDraft:
        """The draft from whatever parsed; the service judges the rest."""
        data = self.cleaned_data
        severity = {
            factor.code: data.get(severity_field(factor.code)) or UNKNOWN for factor in FACTORS
        }
        return ReportDraft(
            kind=data.get("kind") or "",
            title=data.get("title") or "",
            summary=data.get("summary") or "",
            first_seen=data.get("first_seen"),
            last_seen=data.get("last_seen"),
            sectors=[sector.code for sector in data.get("sectors") or []],
            country_of_origin=data.get("country_of_origin") or "",
            references=list(data.get("references") or []),
            marking=data.get("marking") or Marking.AMBER,
            audience=data.get("audience") or Audience.NETWORK,
            audience_groups=list(data.get("audience_groups") or []),
            audience_organisations=list(data.get("audience_organisations") or []),
            recipients=list(data.get("recipients") or []),
            abroad_consent=bool(data.get("abroad_consent")),
            attribution=(
                self.report.attribution
                if self.report is not None
                else data.get("attribution") or Attribution.NAMED
            ),
            effects=list(data.get("effects") or []),
            incident_type=data.get("incident_type") or "",
            task_areas=[task.code for task in data.get("task_areas") or []],
            core_components=list(data.get("core_components") or []),
            severity=severity,
            observables=list(data.get("extracted") or []) + list(data.get("observables") or []),
        )

    def add_service_errors(self, errors: dict[str, str], message: str = "") -> None:
        """Put the service's per-field messages on the fields that hold them."""
        for name, text in errors.items():
            target = {
                "severity": severity_field(FACTORS[0].code),
                "file": "attachments",
            }.get(name, name)
            if target in self.fields and not self.has_error(target):
                self.add_error(target, text)
            elif target not in self.fields:
                self.add_error(None, text)
        if message and not errors:
            self.add_error(None, message)

    # --- The steps, and what the template needs to draw them ------------------------------

    def steps(self) -> list[Step]:
        severity = [severity_field(f.code) for f in FACTORS]
        steps = [
            Step("kind", str(_("Kind")), ["kind", "organisation"]),
            Step(
                "what",
                str(_("What happened")),
                [
                    "title",
                    "summary",
                    "first_seen",
                    "last_seen",
                    "sectors",
                    "country_of_origin",
                    "references",
                    "attachments",
                ],
            ),
            Step(
                "classification",
                str(_("Classification")),
                ["effects", "incident_type", "task_areas", "core_components"],
            ),
            Step("severity", str(_("Severity")), severity),
            Step("observables", str(_("Observables")), ["paste", "extracted", "observables"]),
            Step(
                "distribution",
                str(_("Distribution")),
                [
                    "marking",
                    "audience",
                    "audience_groups",
                    "audience_organisations",
                    "recipients",
                    "attribution",
                ],
            ),
            Step("review", str(_("Review and submit")), ["note"]),
        ]
        for step in steps:
            step.fields = [name for name in step.fields if name in self.fields]
        return steps

    def first_error_step(self) -> int:
        if not self.is_bound or not self.errors:
            return 0
        for index, step in enumerate(self.steps()):
            if any(name in self.errors for name in step.fields):
                return index
        return len(self.steps()) - 1  # only form-wide errors: show them on the review step

    def _checked(self, name: str) -> set[str]:
        value = self[name].value()
        if value is None:
            return set()
        if isinstance(value, list | tuple):
            return {str(v) for v in value}
        return {str(value)}

    def options(self, name: str, help_texts: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """The choices of a radio or checkbox field, with their help and state."""
        bound = self[name]
        checked = self._checked(name)
        rows = []
        for index, (value, label) in enumerate(self.fields[name].choices):
            rows.append(
                {
                    "name": bound.html_name,
                    "value": value,
                    "label": label,
                    "help": (help_texts or {}).get(value, ""),
                    "checked": str(value) in checked,
                    "id": f"{bound.auto_id}_{index}",
                }
            )
        return rows

    def kind_options(self) -> list[dict[str, Any]]:
        return self.options("kind", KIND_HELP)

    def marking_options(self) -> list[dict[str, Any]]:
        return self.options("marking", MARKING_HELP)

    def audience_options(self) -> list[dict[str, Any]]:
        return self.options("audience", AUDIENCE_HELP)

    def attribution_options(self) -> list[dict[str, Any]]:
        return self.options("attribution", ATTRIBUTION_HELP)

    def core_component_options(self) -> list[dict[str, Any]]:
        return self.options("core_components", CORE_COMPONENT_HELP)

    def effect_groups(self) -> list[dict[str, Any]]:
        """The effects grouped as CISSM does: disruptive, exploitive, other."""
        rows = self.options("effects", EFFECT_HELP)
        groups = []
        for family, label in EFFECT_FAMILY_LABELS.items():
            members = [row for row in rows if EFFECT_FAMILY[row["value"]] == family]
            groups.append({"family": family, "label": label, "options": members})
        return groups

    def severity_rows(self, weights: dict[str, int]) -> list[dict[str, Any]]:
        rows = []
        for factor in FACTORS:
            name = severity_field(factor.code)
            options = self.options(name, {o.code: o.help for o in factor.options})
            values = {o.code: o.value for o in factor.options}
            if not any(o["checked"] for o in options):
                options[0]["checked"] = True  # "not known yet"
            for option in options:
                option["score"] = values[option["value"]]
            rows.append(
                {
                    "field": self[name],
                    "factor": factor,
                    "weight": weights.get(factor.code, 0),
                    "options": options,
                }
            )
        return rows

    def severity_answers(self) -> dict[str, str]:
        """The answers as they stand (for the score shown next to them)."""
        answers = {}
        for factor in FACTORS:
            value = self[severity_field(factor.code)].value()
            if value and value != UNKNOWN and value in {o.code for o in factor.options}:
                answers[factor.code] = str(value)
        return answers


def initial_from_draft(draft: ReportDraft) -> dict[str, Any]:
    """Initial values for editing a report."""
    lines = []
    for item in draft.observables:
        line = f"{item.kind}:{item.value}" if item.kind else item.value
        lines.append(f"{line}{NOTE_SEPARATOR}{item.note}" if item.note else line)
    initial: dict[str, Any] = {
        "kind": draft.kind,
        "title": draft.title,
        "summary": draft.summary,
        "first_seen": draft.first_seen,
        "last_seen": draft.last_seen,
        "sectors": list(draft.sectors),
        "country_of_origin": draft.country_of_origin,
        "references": "\n".join(draft.references),
        "marking": draft.marking,
        "audience": draft.audience,
        "audience_groups": list(draft.audience_groups),
        "audience_organisations": list(draft.audience_organisations),
        "recipients": ", ".join(draft.recipients),
        "abroad_consent": draft.abroad_consent,
        "attribution": draft.attribution,
        "effects": list(draft.effects),
        "incident_type": draft.incident_type,
        "task_areas": list(draft.task_areas),
        "core_components": list(draft.core_components),
        "observables": "\n".join(lines),
    }
    for factor in FACTORS:
        initial[severity_field(factor.code)] = draft.severity.get(factor.code, UNKNOWN)
    return initial


def level_labels() -> list[tuple[int, str]]:
    return [(level, str(label)) for level, _code, label, _help in LEVELS]
