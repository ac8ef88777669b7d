"""Peer pages; the project mounts them at /exchange/peers/."""

from django.urls import path

from . import views

app_name = "peers"

# "new/" comes before "<slug>/"; the services refuse the slug "new".
urlpatterns = [
    path("", views.peer_list, name="list"),
    path("new/", views.peer_create, name="create"),
    path("<slug:slug>/", views.peer_detail, name="detail"),
    path("<slug:slug>/edit/", views.peer_edit, name="edit"),
    path("<slug:slug>/token/", views.peer_token, name="token"),
    path("<slug:slug>/pause/", views.peer_pause, name="pause"),
    path("<slug:slug>/resume/", views.peer_resume, name="resume"),
    path("<slug:slug>/pull/", views.peer_pull, name="pull"),
    path("<slug:slug>/reset/", views.peer_reset, name="reset"),
    path("<slug:slug>/agreements/<str:direction>/", views.agreement_edit, name="agreement"),
    path(
        "<slug:slug>/agreements/<str:direction>/remove/",
        views.agreement_remove,
        name="agreement_remove",
    ),
]
