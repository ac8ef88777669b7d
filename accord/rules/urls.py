from django.urls import path

from . import views

app_name = "rules"

# "acceptances" comes before "<kind>/" so it is never read as a document kind.
urlpatterns = [
    path("", views.index, name="index"),
    path("acceptances/", views.acceptances, name="acceptances"),
    path("<slug:kind>/", views.document, name="document"),
    path("<slug:kind>/v<int:number>/", views.version, name="version"),
    path("<slug:kind>/publish/", views.publish, name="publish"),
]
