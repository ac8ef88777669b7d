"""Admin for working groups. Day-to-day changes happen on the group pages, which
audit them; the admin is for repairs."""

from __future__ import annotations

from django.contrib import admin

from .models import GroupMembership, WorkingGroup


class GroupMembershipInline(admin.TabularInline):
    model = GroupMembership
    extra = 0
    raw_id_fields = ["user", "organisation"]


@admin.register(WorkingGroup)
class WorkingGroupAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "visibility", "sector", "created_at"]
    list_filter = ["visibility", "sector"]
    search_fields = ["name", "slug", "description"]
    readonly_fields = ["created_by", "created_at"]
    inlines = [GroupMembershipInline]


@admin.register(GroupMembership)
class GroupMembershipAdmin(admin.ModelAdmin):
    list_display = ["group", "user", "organisation", "state", "is_owner", "joined_at"]
    list_filter = ["state", "is_owner", "group__visibility"]
    search_fields = ["group__name", "user__username", "organisation__name"]
    raw_id_fields = ["group", "user", "organisation"]
    list_select_related = ["group", "user", "organisation"]
