"""Forms for accepting and publishing the network's rules."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from accord import policy
from accord.membership.models import Organisation

from .models import RuleVersion


class AcceptRulesForm(forms.Form):
    """Which of the viewer's organisations accepts; only their own are valid choices."""

    organisation = forms.ModelChoiceField(
        queryset=Organisation.objects.none(), to_field_name="slug", widget=forms.HiddenInput
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        own = policy.active_memberships(user).values("organisation_id")
        self.fields["organisation"].queryset = Organisation.objects.filter(pk__in=own)


class PublishForm(forms.Form):
    body = forms.CharField(
        label=_("Text (Markdown)"),
        widget=forms.Textarea(attrs={"rows": 24}),
        max_length=RuleVersion._meta.get_field("body").max_length,
        help_text=_("Every member organisation must accept the new version again."),
    )
    change_summary = forms.CharField(
        label=_("What changed"),
        max_length=500,
        required=False,
        help_text=_("One or two sentences for the representatives who must accept it."),
    )
