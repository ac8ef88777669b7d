from django.urls import path

from . import views

app_name = "workgroups"

# "new/" comes before "<slug>/"; the forms refuse names whose slug would be "new".
urlpatterns = [
    path("", views.group_list, name="list"),
    path("new/", views.create, name="create"),
    path("<slug:slug>/", views.detail, name="detail"),
    path("<slug:slug>/edit/", views.edit, name="edit"),
    path("<slug:slug>/join/", views.join, name="join"),
    path("<slug:slug>/leave/", views.leave, name="leave"),
    path("<slug:slug>/invite/", views.invite, name="invite"),
    path("<slug:slug>/members/<int:pk>/approve/", views.approve, name="approve"),
    path("<slug:slug>/members/<int:pk>/remove/", views.remove, name="remove"),
    path("<slug:slug>/members/<int:pk>/owner/", views.owner, name="owner"),
]
