"""Web pages for membership (mounted at the site root)."""

from django.urls import path

from . import views

app_name = "membership"

urlpatterns = [
    path("apply/", views.apply, name="apply"),
    path("apply/thanks/", views.applied, name="applied"),
    path("applications/", views.applications, name="applications"),
    path("applications/<slug:slug>/", views.application, name="application"),
    path("directory/", views.directory, name="directory"),
    path("directory/<slug:slug>/", views.organisation, name="organisation"),
    path("directory/<slug:slug>/people/", views.manage, name="manage"),
    path("invitations/<str:secret>/", views.invitation, name="invitation"),
]
