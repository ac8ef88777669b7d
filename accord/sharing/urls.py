from django.urls import path

from . import views, views_notifications, wizard

app_name = "sharing"

urlpatterns = [
    path("", views.feed, name="feed"),
    path("mine/", views.mine, name="mine"),
    path("new/", wizard.new_report, name="new"),
    path("new/preview/", wizard.audience_preview, name="preview"),
    path("new/extract/", wizard.extract_observables, name="extract"),
    path("settings/", views.sharing_settings, name="settings"),
    path("settings/common/<int:pk>/remove/", views.remove_common_value, name="remove-common"),
    path("notifications/", views_notifications.notifications, name="notifications"),
    path("notifications/read/", views_notifications.mark_read, name="mark-read"),
    path("subscriptions/", views_notifications.subscriptions, name="subscriptions"),
    path(
        "subscriptions/<int:pk>/delete/",
        views_notifications.delete_subscription,
        name="delete-subscription",
    ),
    path("<uuid:pk>/", views.detail, name="detail"),
    path("<uuid:pk>/edit/", wizard.edit_report, name="edit"),
    path("<uuid:pk>/versions/", views.versions, name="versions"),
    path("<uuid:pk>/withdraw/", views.withdraw, name="withdraw"),
    path("<uuid:pk>/reveal/", views.reveal, name="reveal"),
    path("<uuid:pk>/reporter/", views.look_up_reporter, name="look-up"),
    path("<uuid:pk>/comments/", views.comment, name="comment"),
    path("<uuid:pk>/sightings/", views.sighting, name="sighting"),
    path("<uuid:pk>/attachments/", views.attach, name="attach"),
    path("<uuid:pk>/attachments/<uuid:attachment>/", views.download, name="download"),
    path(
        "<uuid:pk>/attachments/<uuid:attachment>/remove/",
        views.remove_attachment,
        name="remove-attachment",
    ),
]
