"""Admin for points of contact and checks: for repairs; the pages audit changes."""

from __future__ import annotations

from django.contrib import admin

from .models import CheckRecipient, CheckSchedule, Contact, ContactCheck


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ["display_name", "organisation_name", "country", "role", "peer"]
    list_filter = ["role", "country", "peer"]
    search_fields = ["name", "organisation_name", "email", "function"]
    raw_id_fields = ["organisation", "user", "created_by"]


class RecipientInline(admin.TabularInline):
    model = CheckRecipient
    extra = 0
    fields = ["contact_name", "organisation_name", "sent_at", "acknowledged_at", "escalated_at"]
    readonly_fields = fields
    can_delete = False


@admin.register(ContactCheck)
class ContactCheckAdmin(admin.ModelAdmin):
    list_display = ["created_at", "deadline", "scheduled", "escalated_at"]
    readonly_fields = ["created_by", "created_at"]
    inlines = [RecipientInline]


admin.site.register(CheckSchedule)
