"""Forms for signing in, the second factor, the profile and API tokens."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from .models import User

TOKEN_LIFETIMES = (7, 30, 90, 365)


class LoginForm(forms.Form):
    username = forms.CharField(
        label=_("Username"),
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True}),
    )
    password = forms.CharField(
        label=_("Password"),
        max_length=4096,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class CodeForm(forms.Form):
    """A six-digit code from an authenticator app. Spaces are forgiven: apps
    often show the code as "123 456"."""

    code = forms.CharField(
        label=_("Six-digit code"),
        max_length=12,
        help_text=_("The code your authenticator app shows now."),
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "autofocus": True,
                "size": 8,
            }
        ),
    )

    def clean_code(self) -> str:
        code = re.sub(r"\s+", "", self.cleaned_data["code"])
        if not re.fullmatch(r"\d{6}", code):
            raise forms.ValidationError(_("Enter the six digits your app shows."))
        return code


class ProfileForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["full_name", "timezone"]
        help_texts = {
            "timezone": _("Times on every page are shown in this zone."),
        }


def _lifetime_choices() -> list[tuple[int, str]]:
    limit = settings.ACCORD_TOKEN_MAX_DAYS
    days = [d for d in TOKEN_LIFETIMES if d <= limit] or [limit]
    return [(d, _("%(days)d days") % {"days": d}) for d in days]


class TokenForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=100,
        help_text=_('What the token is for, e.g. "SIEM export".'),
    )
    can_write = forms.BooleanField(
        label=_("Read and write"),
        required=False,
        help_text=_("Without this the token can only read."),
    )
    expires_in_days = forms.TypedChoiceField(label=_("Expires in"), coerce=int)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = _lifetime_choices()
        field = self.fields["expires_in_days"]
        field.choices = choices  # type: ignore[attr-defined]
        values = [value for value, _label in choices]
        field.initial = 90 if 90 in values else values[-1]
