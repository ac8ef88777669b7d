from django.urls import path

from . import views

app_name = "contacts"

urlpatterns = [
    path("", views.contact_list, name="list"),
    path("new/", views.contact_create, name="create"),
    path("notices/", views.notices, name="notices"),
    path("notices/read/", views.notices_read, name="notices_read"),
    path("checks/", views.check_list, name="checks"),
    path("checks/new/", views.check_create, name="check_create"),
    path("checks/stats/", views.check_stats, name="stats"),
    path("checks/schedule/", views.schedule, name="schedule"),
    path("checks/<uuid:pk>/", views.check_detail, name="check"),
    path("checks/<uuid:pk>/escalate/", views.check_escalate, name="check_escalate"),
    path("checks/<uuid:pk>/acknowledge/", views.check_acknowledge, name="check_acknowledge"),
    path("ack/<str:token>/", views.acknowledge, name="acknowledge"),
    path("<uuid:pk>/", views.contact_detail, name="detail"),
    path("<uuid:pk>/edit/", views.contact_edit, name="edit"),
    path("<uuid:pk>/delete/", views.contact_delete, name="delete"),
]
