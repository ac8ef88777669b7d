"""Forms for working groups."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _

from accord import policy
from accord.membership.models import Membership, Organisation, Sector

from .models import WorkingGroup

# Slugs that would collide with the group pages' own addresses (/groups/new/).
RESERVED_SLUGS = {"new"}


def acting_organisations(user: Any) -> QuerySet[Organisation]:
    """The viewer's organisations that may act in groups: verified and in good standing."""
    own = policy.active_memberships(user).values("organisation_id")
    return policy.organisations_in_good_standing().filter(pk__in=own)


def unusable_name_reason(name: str) -> str:
    """Why a name can never be used (empty, or its address is taken by a page), or ""."""
    name = name.strip()
    if not name:
        return str(_("Give the group a name."))
    if slugify(name) in RESERVED_SLUGS:
        return str(_("This name is reserved; choose another."))
    return ""


class OrganisationChoiceMixin:
    """An ``organisation`` field limited to the viewer's organisations in good standing;
    hidden when there is only one to choose."""

    def _set_organisations(self, user: Any) -> None:
        field = self.fields["organisation"]  # type: ignore[attr-defined]
        field.queryset = acting_organisations(user)
        if field.queryset.count() == 1:
            field.initial = field.queryset.first()
            field.widget = forms.HiddenInput()


class GroupFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), max_length=100, required=False)
    visibility = forms.ChoiceField(
        label=_("Visibility"),
        choices=[("", _("Any"))] + list(WorkingGroup.Visibility.choices),
        required=False,
    )
    sector = forms.ModelChoiceField(
        label=_("Sector"),
        queryset=Sector.objects.all(),
        to_field_name="code",
        required=False,
        empty_label=_("Any"),
    )


class GroupSettingsForm(forms.Form):
    description = forms.CharField(
        label=_("Purpose"),
        widget=forms.Textarea(attrs={"rows": 6}),
        max_length=4000,
        required=False,
    )
    visibility = forms.ChoiceField(
        label=_("Visibility"),
        choices=WorkingGroup.Visibility.choices,
        initial=WorkingGroup.Visibility.OPEN,
    )
    sector = forms.ModelChoiceField(
        label=_("Sector"),
        queryset=Sector.objects.all(),
        required=False,
        empty_label=_("No particular sector"),
    )


class GroupCreateForm(OrganisationChoiceMixin, GroupSettingsForm):
    name = forms.CharField(label=_("Name"), max_length=120)
    organisation = forms.ModelChoiceField(
        label=_("On behalf of"),
        queryset=Organisation.objects.none(),
        help_text=_("The organisation you represent in this group."),
    )
    field_order = ["name", "description", "visibility", "sector", "organisation"]

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._set_organisations(user)

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if problem := unusable_name_reason(name):
            raise forms.ValidationError(problem)
        if WorkingGroup.objects.filter(name__iexact=name).exists():
            raise forms.ValidationError(_("A working group with this name already exists."))
        return name


class JoinForm(OrganisationChoiceMixin, forms.Form):
    organisation = forms.ModelChoiceField(
        label=_("On behalf of"), queryset=Organisation.objects.none()
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._set_organisations(user)


class MembershipChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Membership) -> str:
        return f"{obj.user.display_name} ({obj.user.get_username()}), {obj.organisation.name}"


class InviteForm(forms.Form):
    """Anyone in good standing who is not in the group yet, with the organisation
    they would represent in it."""

    membership = MembershipChoiceField(
        label=_("Person and organisation"),
        queryset=Membership.objects.none(),
        empty_label=_("Choose a person"),
    )

    def __init__(self, *args: Any, group: WorkingGroup, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["membership"].queryset = (
            Membership.objects.active()
            .filter(organisation__in=policy.organisations_in_good_standing())
            .exclude(user__in=group.memberships.values("user_id"))
            .filter(user__is_active=True)
            .select_related("user", "organisation")
            .order_by("user__full_name", "user__username", "organisation__name")
        )


class OwnerForm(forms.Form):
    is_owner = forms.TypedChoiceField(
        choices=[("1", _("Owner")), ("0", _("Member"))], coerce=lambda v: v == "1"
    )
