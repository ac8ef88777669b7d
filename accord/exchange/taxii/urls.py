"""TAXII 2.1 addresses; the project mounts them at /taxii2/."""

from django.urls import path, re_path

from . import views

app_name = "taxii"

COLLECTION = "<str:api_root>/collections/<str:collection_id>/"

urlpatterns = [
    path("", views.discovery, name="discovery"),
    path("<str:api_root>/", views.api_root, name="api_root"),
    path("<str:api_root>/status/<str:status_id>/", views.status, name="status"),
    path("<str:api_root>/collections/", views.collections, name="collections"),
    path(COLLECTION, views.collection, name="collection"),
    path(f"{COLLECTION}manifest/", views.manifest, name="manifest"),
    path(f"{COLLECTION}objects/", views.objects, name="objects"),
    path(f"{COLLECTION}objects/<str:object_id>/", views.object_, name="object"),
    path(f"{COLLECTION}objects/<str:object_id>/versions/", views.versions, name="versions"),
    re_path(r"^(?P<rest>.*)$", views.not_found),
]
