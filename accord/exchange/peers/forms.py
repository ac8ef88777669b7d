"""Forms for peers and agreements. They only shape input; the rules (what a
valid peer or agreement is) live in ``services`` so the API applies the same."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django_countries import countries
from django_countries.fields import LazyTypedChoiceField

from accord.exchange.models import Agreement, Peer
from accord.sharing.models import Kind, Marking
from accord.workgroups.models import WorkingGroup

from .services import MAX_PULL_MINUTES, AgreementData, PeerData

# Offered in the form so that a refused choice gets its reason, not a silent gap.
MARKING_CHOICES = [(m.value, m.label) for m in Marking]


class PeerForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    slug = forms.SlugField(
        label=_("Slug"),
        max_length=60,
        required=False,
        help_text=_(
            "The peer signs in to this installation's TAXII server with this name. "
            "Left empty, it is made from the name."
        ),
    )
    country = LazyTypedChoiceField(label=_("Country"), choices=countries)
    api_root_url = forms.URLField(
        label=_("TAXII API root"),
        max_length=500,
        assume_scheme="https",
        help_text=_(
            "For example https://accord.example/taxii2/accord/ (a discovery URL works too)."
        ),
    )
    collection_id = forms.CharField(
        label=_("Collection to pull"),
        max_length=64,
        required=False,
        help_text=_("Left empty, the first collection the peer lets us read."),
    )
    remote_username = forms.CharField(
        label=_("User name at the peer"), max_length=150, required=False
    )
    remote_secret = forms.CharField(
        label=_("Token or password at the peer"),
        max_length=300,
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_("Left empty when editing, the stored one is kept."),
    )
    pull_every_minutes = forms.IntegerField(
        label=_("Pull every (minutes)"), min_value=1, max_value=MAX_PULL_MINUTES, initial=15
    )

    def __init__(self, *args: Any, peer: Peer | None = None, **kwargs: Any) -> None:
        if peer is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "name": peer.name,
                "slug": peer.slug,
                "country": peer.country.code,
                "api_root_url": peer.api_root_url,
                "collection_id": peer.collection_id,
                "remote_username": peer.remote_username,
                "pull_every_minutes": peer.pull_every_minutes,
            }
        super().__init__(*args, **kwargs)
        self.peer = peer

    def to_data(self) -> PeerData:
        data = self.cleaned_data
        secret = data["remote_secret"]
        return PeerData(
            name=data["name"],
            slug=data["slug"],
            country=data["country"],
            api_root_url=data["api_root_url"],
            collection_id=data["collection_id"],
            remote_username=data["remote_username"],
            # Editing: an empty box keeps the stored secret.
            remote_secret=secret if secret or self.peer is None else None,
            pull_every_minutes=data["pull_every_minutes"],
        )


class AgreementForm(forms.Form):
    kinds = forms.MultipleChoiceField(
        label=_("Kinds of report"),
        choices=Kind.choices,
        widget=forms.CheckboxSelectMultiple,
        initial=Kind.values,
    )
    highest_marking = forms.ChoiceField(
        label=_("Highest marking"),
        choices=MARKING_CHOICES,
        initial=Marking.GREEN,
        help_text=_(
            "AMBER crosses only for reports whose reporter agreed to sharing abroad. "
            "AMBER+STRICT and RED never cross."
        ),
    )
    name_reporters = forms.BooleanField(
        label=_("Name reporting organisations"),
        required=False,
        help_text=_("Off: a named reporter is shown abroad by its sector and country only."),
    )
    working_groups = forms.ModelMultipleChoiceField(
        label=_("Working groups whose material may cross"),
        queryset=WorkingGroup.objects.order_by("name"),
        to_field_name="slug",
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_("Besides material for the whole network."),
    )
    pass_on_third_party = forms.BooleanField(
        label=_("Pass on material from other countries"),
        required=False,
        help_text=_("Never back to the country it came from."),
    )

    # What an inbound agreement does not decide: names, groups and passing on are
    # about our material going out.
    OUTBOUND_ONLY = ("name_reporters", "working_groups", "pass_on_third_party")

    def __init__(
        self,
        *args: Any,
        agreement: Agreement | None = None,
        direction: str = Agreement.Direction.OUTBOUND,
        **kwargs: Any,
    ) -> None:
        if agreement is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "kinds": list(agreement.kinds),
                "highest_marking": agreement.highest_marking,
                "name_reporters": agreement.name_reporters,
                "working_groups": list(agreement.working_groups.all()),
                "pass_on_third_party": agreement.pass_on_third_party,
            }
        super().__init__(*args, **kwargs)
        if direction == Agreement.Direction.INBOUND:
            for name in self.OUTBOUND_ONLY:
                del self.fields[name]
            self.fields["highest_marking"].help_text = _(
                "The most restrictive marking taken from the peer. AMBER+STRICT and RED "
                "are never taken."
            )

    def to_data(self) -> AgreementData:
        data = self.cleaned_data
        return AgreementData(
            kinds=list(data["kinds"]),
            highest_marking=data["highest_marking"],
            name_reporters=data.get("name_reporters", False),
            working_groups=[group.slug for group in data.get("working_groups", [])],
            pass_on_third_party=data.get("pass_on_third_party", False),
        )
