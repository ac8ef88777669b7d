"""Forms for admission, the directory and managing people.

The web pages and the JSON API validate with the same forms, so a value the
one refuses the other refuses too.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _
from django_countries import countries

from .models import Organisation, Sector, Task
from .taxonomy import StakeholderGroup


class PlainLabels:
    """Labels without Django's trailing colon: they read as names, for people and
    for assistive technology alike."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class CodeChoiceField(forms.ModelMultipleChoiceField):
    """Reference rows (sectors, tasks) chosen by their stable code, the same code
    the API uses, as a list of checkboxes."""

    model: type = Sector
    default_label: Any = ""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("queryset", self.model.objects.all())
        kwargs.setdefault("to_field_name", "code")
        kwargs.setdefault("widget", forms.CheckboxSelectMultiple)
        kwargs.setdefault("required", False)
        kwargs.setdefault("label", self.default_label)
        super().__init__(**kwargs)


class SectorChoiceField(CodeChoiceField):
    model = Sector
    default_label = _("Critical sectors")


class TaskChoiceField(CodeChoiceField):
    """Labelled with the task's primary responsible actor."""

    model = Task
    default_label = _("Security tasks the organisation is responsible for")

    def label_from_instance(self, obj: Task) -> str:
        return f"{obj.name} — {obj.primary_actor}"


class WebsiteField(forms.URLField):
    """An optional web address; one typed without a scheme is taken as https."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("label", _("Website"))
        kwargs.setdefault("required", False)
        kwargs.setdefault("max_length", 200)
        kwargs.setdefault("assume_scheme", "https")
        super().__init__(**kwargs)


class ApplicationForm(PlainLabels, forms.ModelForm):
    """The public application. Saving is the service's job, never ``form.save()``."""

    sectors = SectorChoiceField()
    tasks = TaskChoiceField()
    website = WebsiteField()

    class Meta:
        model = Organisation
        fields = [
            "name",
            "country",
            "stakeholder_group",
            "sectors",
            "tasks",
            "contact_name",
            "contact_email",
            "contact_phone",
            "website",
            "description",
        ]
        widgets = {
            "name": forms.TextInput(attrs={"autocomplete": "organization"}),
            "contact_name": forms.TextInput(attrs={"autocomplete": "name"}),
            "contact_email": forms.EmailInput(attrs={"autocomplete": "email"}),
            "contact_phone": forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
            "description": forms.Textarea(attrs={"rows": 5}),
        }
        help_texts = {
            "contact_email": _("We send the decision and the invitation link to this address."),
            "description": _("What the organisation does and why it wants to join."),
        }

    def validate_unique(self) -> None:
        # Duplicates are the service's call (case-insensitive, and a 409 in the API).
        return None

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise ValidationError(_("Give the organisation's name."))
        return name


class VerifyForm(PlainLabels, forms.Form):
    note = forms.CharField(
        label=_("Verification note"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("For the coordinators' record: how the applicant's identity was checked."),
    )


class RejectForm(PlainLabels, forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Sent to the applicant's contact."),
    )


class ApplicationQueueForm(PlainLabels, forms.Form):
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("Any status")), *Organisation.Status.choices],
    )


class DirectoryFilterForm(PlainLabels, forms.Form):
    """GET filters for the API's organisation list (and, below, the directory page)."""

    ANY_STATUS = "all"

    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    stakeholder_group = forms.ChoiceField(
        label=_("Stakeholder group"),
        required=False,
        choices=[("", _("Any")), *StakeholderGroup.choices],
    )
    sector = forms.ModelChoiceField(
        label=_("Sector"),
        required=False,
        queryset=Sector.objects.all(),
        to_field_name="code",
        empty_label=_("Any"),
    )
    task = forms.ModelChoiceField(
        label=_("Security task"),
        required=False,
        queryset=Task.objects.all(),
        to_field_name="code",
        empty_label=_("Any"),
    )
    country = forms.ChoiceField(label=_("Country"), required=False)
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("Any status")), *Organisation.Status.choices],
    )

    def __init__(self, *args: Any, with_status: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["country"].choices = [("", _("Any")), *countries]
        if not with_status:
            del self.fields["status"]

    def filter(self, qs: QuerySet[Organisation]) -> QuerySet[Organisation]:
        """Apply the valid filters; an invalid one is shown as an error and ignored."""
        data = self.cleaned_data if hasattr(self, "cleaned_data") else {}
        if q := (data.get("q") or "").strip():
            qs = qs.filter(Q(name__icontains=q) | Q(description__icontains=q))
        if group := data.get("stakeholder_group"):
            qs = qs.filter(stakeholder_group=group)
        if sector := data.get("sector"):
            qs = qs.filter(sectors=sector)
        if task := data.get("task"):
            qs = qs.filter(tasks=task)
        if country := data.get("country"):
            qs = qs.filter(country=country)
        if (status := data.get("status")) and status != self.ANY_STATUS:
            qs = qs.filter(status=status)
        return qs.distinct()


class DirectoryForm(DirectoryFilterForm):
    """The directory page: verified members, unless a coordinator asks for applicants."""

    def __init__(self, *args: Any, coordinator: bool, **kwargs: Any) -> None:
        super().__init__(*args, with_status=coordinator, **kwargs)
        if coordinator:
            verified = Organisation.Status.VERIFIED
            others = [c for c in Organisation.Status.choices if c[0] != verified]
            self.fields["status"].choices = [
                ("", _("Verified members")),
                *others,
                (self.ANY_STATUS, _("Any status")),
            ]

    def filter(self, qs: QuerySet[Organisation]) -> QuerySet[Organisation]:
        data = self.cleaned_data if hasattr(self, "cleaned_data") else {}
        if not data.get("status"):
            qs = qs.filter(status=Organisation.Status.VERIFIED)
        return super().filter(qs)


class RolesForm(PlainLabels, forms.Form):
    # No help texts: the page explains the roles once, not in every row.
    is_representative = forms.BooleanField(label=_("Representative"), required=False)
    is_analyst = forms.BooleanField(label=_("Analyst"), required=False)
    is_org_admin = forms.BooleanField(label=_("Organisation admin"), required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not any(data.get(f) for f in ("is_representative", "is_analyst", "is_org_admin")):
            raise ValidationError(_("Give the person at least one role."))
        return data


class InviteForm(RolesForm):
    email = forms.EmailField(label=_("E-mail"), max_length=254)
    full_name = forms.CharField(label=_("Name"), required=False, max_length=200)

    field_order = ["email", "full_name", "is_representative", "is_analyst", "is_org_admin"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"is_analyst": True})
        super().__init__(*args, **kwargs)


class ProfileForm(PlainLabels, forms.ModelForm):
    """The directory entry an organisation keeps itself. Bind it to a copy of the
    organisation: validation writes into the instance, the service saves."""

    sectors = SectorChoiceField()
    tasks = TaskChoiceField()
    website = WebsiteField()

    class Meta:
        model = Organisation
        fields = [
            "description",
            "website",
            "contact_name",
            "contact_email",
            "contact_phone",
            "sectors",
            "tasks",
        ]
        widgets = {
            "contact_phone": forms.TextInput(attrs={"type": "tel"}),
            "description": forms.Textarea(attrs={"rows": 5}),
        }

    def validate_unique(self) -> None:
        return None


class JoinForm(PlainLabels, forms.Form):
    """A new account from an invitation link."""

    username = forms.CharField(
        label=_("Username"),
        max_length=150,
        help_text=_("Letters, digits and @/./+/-/_ only."),
    )
    full_name = forms.CharField(label=_("Full name"), max_length=200)
    password1 = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("At least 12 characters; not a common or all-numeric password."),
    )
    password2 = forms.CharField(
        label=_("Password confirmation"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args: Any, email: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.email = email
        self.fields["username"].widget.attrs["autocomplete"] = "username"
        self.fields["full_name"].widget.attrs["autocomplete"] = "name"

    def clean_username(self) -> str:
        User = get_user_model()
        username = self.cleaned_data["username"].strip()
        User.username_validator(username)
        if User.objects.filter(username__iexact=username).exists():
            raise ValidationError(_("This username is taken."))
        return username

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        password1, password2 = data.get("password1"), data.get("password2")
        if password1 and password2 and password1 != password2:
            self.add_error("password2", _("The two passwords differ."))
        elif password1:
            # Checked against the would-be account so it may not resemble its name or e-mail.
            candidate = get_user_model()(
                username=data.get("username", ""),
                email=self.email,
                full_name=data.get("full_name", ""),
            )
            try:
                validate_password(password1, candidate)
            except ValidationError as exc:
                self.add_error("password1", exc)
        return data
