from django.contrib import admin
from django.urls import include, path

from accord.api import api

urlpatterns = [
    path("", include("accord.core.urls")),
    path("accounts/", include("accord.accounts.urls")),
    path("", include("accord.membership.urls")),
    path("rules/", include("accord.rules.urls")),
    path("groups/", include("accord.workgroups.urls")),
    path("audit/", include("accord.audit.urls")),
    path("reports/", include("accord.sharing.urls")),
    path("contacts/", include("accord.contacts.urls")),
    path("exchange/peers/", include("accord.exchange.peers.urls")),
    path("taxii2/", include("accord.exchange.taxii.urls")),
    path("api/v1/", api.urls),
    path("django-admin/", admin.site.urls),
]

handler400 = "accord.core.views.bad_request"
handler403 = "accord.core.views.forbidden"
handler404 = "accord.core.views.not_found"
handler500 = "accord.core.views.server_error"
