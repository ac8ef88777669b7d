"""Admin for the rules. Versions and acceptances are read-only here: they are
created only through the services, which audit them and notify representatives."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from .models import RuleAcceptance, RuleDocument, RuleVersion


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(RuleDocument)
class RuleDocumentAdmin(admin.ModelAdmin):
    list_display = ["title", "kind"]
    readonly_fields = ["kind"]

    # The three documents are fixed by a migration; only their titles may change.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(RuleVersion)
class RuleVersionAdmin(ReadOnlyAdmin):
    list_display = ["document", "number", "published_at", "published_by", "change_summary"]
    list_filter = ["document"]
    date_hierarchy = "published_at"


@admin.register(RuleAcceptance)
class RuleAcceptanceAdmin(ReadOnlyAdmin):
    list_display = ["organisation", "version", "accepted_by", "accepted_at"]
    list_filter = ["version__document"]
    search_fields = ["organisation__name", "organisation__slug"]
    list_select_related = ["organisation", "version__document", "accepted_by"]
