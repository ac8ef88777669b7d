"""Forms of the points-of-contact pages. They parse what people type; the rules
(which values are valid) are the services', so pages and API agree."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_countries import countries

from accord.exchange.models import Peer
from accord.membership.models import Organisation

from . import checks
from .languages import LANGUAGE_CHOICES
from .models import ChannelKind, Contact, Interval, Role
from .services import ContactError, format_channels, parse_channels, user_by_username

LOCAL = "local"


def _country_choices(empty: str) -> list[tuple[str, str]]:
    return [("", empty), *[(code, name) for code, name in countries]]


class ContactFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), max_length=100, required=False)
    country = forms.ChoiceField(label=_("Country"), required=False)
    role = forms.ChoiceField(
        label=_("Role"), choices=[("", _("Any")), *Role.choices], required=False
    )
    language = forms.ChoiceField(
        label=_("Language"), choices=[("", _("Any")), *LANGUAGE_CHOICES], required=False
    )
    source = forms.ChoiceField(label=_("Source"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Only the countries and peers that have contacts: short lists to choose from.
        present = set(Contact.objects.values_list("country", flat=True).distinct())
        self.fields["country"].choices = [("", _("Any"))] + [
            (code, name) for code, name in countries if code in present
        ]
        peers = Peer.objects.filter(contacts__isnull=False).distinct().order_by("name")
        self.fields["source"].choices = [
            ("", _("Any")),
            (LOCAL, _("This country (entered here)")),
            *[(p.slug, _("Peer: %(name)s") % {"name": p.name}) for p in peers],
        ]


class ContactForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)
    name = forms.CharField(
        label=_("Person"),
        max_length=200,
        required=False,
        help_text=_("Leave empty for a team or duty desk."),
    )
    function = forms.CharField(label=_("Function"), max_length=200, required=False)
    organisation = forms.ModelChoiceField(
        label=_("Member organisation"),
        queryset=Organisation.objects.none(),
        required=False,
        empty_label=_("— not a member organisation —"),
    )
    organisation_name = forms.CharField(
        label=_("Organisation name"),
        max_length=200,
        required=False,
        help_text=_("For an organisation that is not a member, e.g. a foreign ministry."),
    )
    country = forms.ChoiceField(
        label=_("Country"),
        required=False,
        help_text=_("Taken from the member organisation when left empty."),
    )
    email = forms.EmailField(label=_("E-mail"), max_length=254)
    phone = forms.CharField(label=_("Phone"), max_length=40, required=False)
    languages = forms.CharField(
        label=_("Languages"),
        max_length=200,
        required=False,
        help_text=_("ISO 639-1 codes separated by commas, e.g. en, fr, de."),
    )
    channels = forms.CharField(
        label=_("Other channels"),
        widget=forms.Textarea(attrs={"rows": 4}),
        required=False,
        max_length=4000,
        help_text=_("One a line as kind: value. Kinds: %(kinds)s.")
        % {"kinds": ", ".join(ChannelKind.values)},
    )
    hours = forms.CharField(
        label=_("Hours"),
        max_length=200,
        required=False,
        help_text=_("E.g. Mon–Fri 08:00–18:00 CET."),
    )
    always_available = forms.BooleanField(label=_("Reachable 24/7"), required=False)
    user = forms.CharField(
        label=_("Local account (user name)"),
        max_length=150,
        required=False,
        help_text=_("The person's account here, if any: they then see checks in the platform."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = Organisation.objects.verified().order_by("name")
        self.fields["country"].choices = _country_choices(str(_("— choose —")))

    @classmethod
    def initial_for(cls, contact: Contact) -> dict[str, Any]:
        return {
            "role": contact.role,
            "name": contact.name,
            "function": contact.function,
            "organisation": contact.organisation,
            "organisation_name": "" if contact.organisation_id else contact.organisation_name,
            "country": contact.country.code,
            "email": contact.email,
            "phone": contact.phone,
            "languages": ", ".join(contact.language_list),
            "channels": format_channels(contact.channels),
            "hours": contact.hours,
            "always_available": contact.always_available,
            "user": contact.user.get_username() if contact.user else "",
        }

    def clean_user(self) -> Any:
        username = self.cleaned_data["user"].strip()
        if not username:
            return None
        user = user_by_username(username)
        if user is None:
            raise forms.ValidationError(_("No active account has this user name."))
        return user

    def values(self) -> dict[str, Any]:
        """The cleaned data in the services' terms."""
        data = dict(self.cleaned_data)
        data["channels"] = parse_channels(data["channels"])
        if data["organisation"] is not None:
            data["organisation_name"] = ""
        return data

    def add_service_errors(self, error: ContactError) -> None:
        for field, message in error.errors.items():
            self.add_error(field if field in self.fields else None, message)
        if not error.errors:
            self.add_error(None, error.message)


class CheckForm(forms.Form):
    ALL, SELECTED = "all", "selected"

    send_to = forms.ChoiceField(
        label=_("Send to"),
        choices=[(ALL, _("Every point of contact")), (SELECTED, _("The contacts chosen below"))],
        widget=forms.RadioSelect,
        initial=ALL,
    )
    contacts = forms.ModelMultipleChoiceField(
        label=_("Contacts"),
        queryset=Contact.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    deadline = forms.DateTimeField(
        label=_("Acknowledge by"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text=_("In your time zone. The silent ones are reminded after this moment."),
    )
    message = forms.CharField(
        label=_("Message"),
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=checks.MAX_MESSAGE,
        required=False,
        help_text=_("Optional; shown in the e-mail and on the acknowledgement page."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["contacts"]
        field.queryset = Contact.objects.select_related("peer").order_by(
            "country", "organisation_name", "name"
        )
        field.label_from_instance = lambda c: (  # type: ignore[method-assign]
            f"{c.display_name} — {c.organisation_name} ({c.country.code}, {c.get_role_display()})"
        )
        if not self.is_bound:
            later = timezone.localtime() + dt.timedelta(hours=72)
            self.initial.setdefault("deadline", later.replace(second=0, microsecond=0))

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("send_to") == self.SELECTED and not data.get("contacts"):
            self.add_error("contacts", _("Choose at least one contact."))
        return data

    def chosen(self) -> Any:
        """None for everyone, or the chosen contacts."""
        if self.cleaned_data["send_to"] == self.ALL:
            return None
        return list(self.cleaned_data["contacts"])


class ScheduleForm(forms.Form):
    interval = forms.ChoiceField(label=_("Send a check to every contact"), choices=Interval.choices)
    deadline_hours = forms.IntegerField(
        label=_("Hours to acknowledge"),
        min_value=checks.MIN_DEADLINE_HOURS,
        max_value=checks.MAX_DEADLINE_HOURS,
    )
