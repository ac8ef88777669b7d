"""The Django admin for people and tokens: mostly for looking, not editing.

Roles and tokens change through the app (and its services), where every change
reaches the audit trail; the admin only edits harmless profile fields.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from accord import policy

from . import services
from .models import ApiToken, User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "full_name", "email", "is_coordinator", "is_active", "last_login")
    list_filter = ("is_coordinator", "is_active", "is_demo", "is_superuser")
    search_fields = ("username", "full_name", "email")
    ordering = ("username",)
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("Profile"), {"fields": ("full_name", "email", "timezone")}),
        (
            _("Roles"),
            {"fields": ("is_active", "is_coordinator", "is_demo", "is_staff", "is_superuser")},
        ),
        (_("Dates"), {"fields": ("last_login", "date_joined")}),
    )
    readonly_fields = (
        "username",
        "is_coordinator",
        "is_demo",
        "is_staff",
        "is_superuser",
        "last_login",
        "date_joined",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        # People join through applications and invitations, not the admin.
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Deleting would orphan the audit trail's actors; deactivate instead.
        return False


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "key_id",
        "user",
        "can_write",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
    )
    list_filter = ("can_write",)
    search_fields = ("name", "key_id", "user__username")
    fields = (
        "name",
        "user",
        "key_id",
        "can_write",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
    )
    readonly_fields = fields
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # a token's secret can only be shown by the app that creates it

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description=_("Revoke the selected tokens"))
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        count = 0
        for token in queryset.filter(revoked_at__isnull=True).select_related("user"):
            try:
                services.revoke_token(token, by=request.user, request=request)
            except (policy.PolicyDenied, services.AccountError) as exc:
                self.message_user(request, str(exc) or token.name, messages.ERROR)
            else:
                count += 1
        self.message_user(request, _("%(count)d token(s) revoked.") % {"count": count})
