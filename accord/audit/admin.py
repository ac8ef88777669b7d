"""The audit trail in the admin: for reading only. Nobody adds, changes or
deletes entries here; the models and database triggers refuse it anyway."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from .models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ["sequence", "timestamp", "actor_label", "action", "organisation", "summary"]
    list_filter = ["action"]
    search_fields = ["summary", "actor_label", "action", "target_id"]
    date_hierarchy = "timestamp"
    list_select_related = ["organisation"]
    readonly_fields = [f.name for f in AuditEntry._meta.fields]
    actions = None  # not even the bulk "delete selected"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
