"""Django admin for membership: a maintenance view for operators.

Admission, roles and invitations are meant to change through the web pages and
the API, which audit every change; the admin therefore keeps decisions and
invitation secrets read-only.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from .models import Invitation, Membership, Organisation, Sector, Task


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    fields = ["user", "is_representative", "is_analyst", "is_org_admin", "title", "joined_at"]
    raw_id_fields = ["user"]


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["name", "status", "country", "stakeholder_group", "applied_at"]
    list_filter = ["status", "stakeholder_group", "sectors", "tasks"]
    search_fields = ["name", "slug", "description", "contact_name", "contact_email"]
    prepopulated_fields = {"slug": ["name"]}
    filter_horizontal = ["sectors", "tasks"]
    # The decision is recorded by the coordinators' review, with its audit entry.
    readonly_fields = [
        "applied_at",
        "decided_at",
        "decided_by",
        "decision_reason",
        "verification_note",
    ]
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = [
        "user",
        "organisation",
        "is_representative",
        "is_analyst",
        "is_org_admin",
        "joined_at",
    ]
    list_filter = ["is_representative", "is_analyst", "is_org_admin", "organisation__status"]
    search_fields = ["user__username", "user__email", "user__full_name", "organisation__name"]
    raw_id_fields = ["user", "organisation"]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = [
        "email",
        "organisation",
        "created_at",
        "expires_at",
        "accepted_at",
        "revoked_at",
    ]
    list_filter = ["organisation"]
    search_fields = ["email", "full_name", "organisation__name"]
    # The secret's hash is never shown or edited; invitations are created by the
    # service, which e-mails the one-time link.
    exclude = ["secret_hash"]
    readonly_fields = [
        "organisation",
        "email",
        "full_name",
        "is_representative",
        "is_analyst",
        "is_org_admin",
        "invited_by",
        "created_at",
        "accepted_at",
        "accepted_by",
    ]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Sector)
class SectorAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "position"]
    search_fields = ["name", "code"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # Codes are shared with reports and peers: names may change, codes not.
        return ["code"] if obj else []


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "primary_actor", "position"]
    search_fields = ["name", "code", "primary_actor"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return ["code"] if obj else []
