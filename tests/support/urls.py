"""The site's URLs plus two views that exist only for tests: one that
fails, one meant to be framed."""

from django.http import HttpResponse
from django.urls import path

from rapport.security import allow_framing
from rapport.urls import urlpatterns as site


def boom(request):
    raise RuntimeError("kaboom: SECRET-IN-EXCEPTION /c/tok_in_exception_1234567890/")


@allow_framing
def embeddable(request):
    return HttpResponse("<p>widget</p>")


@allow_framing(ancestors=["https://partner.example"])
def embeddable_by_one(request):
    return HttpResponse("<p>widget</p>")


urlpatterns = [
    path("__test__/boom/", boom),
    path("__test__/embed/", embeddable),
    path("__test__/embed-one/", embeddable_by_one),
    *site,
]
