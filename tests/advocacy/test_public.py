"""The wall, the feed, the widget script, its iframe and the photos: the
stable interface, consent, no cookies, CORS on the feed only, escaping,
schema.org markup read by an independent parser, and the caching bound."""

import json

import extruct
import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from rapport.advocacy import testimonials
from rapport.advocacy.actions import record_testimonial
from tests import factories
from tests.advocacy.conftest import publish

pytestmark = pytest.mark.django_db

PAYLOAD = '<script>alert(1)</script>"><img src=x onerror=alert(1)>'


def urls(workspace, photo_pk=None):
    slug = workspace.slug
    found = {
        "feed": reverse("advocacy:feed", args=[slug]),
        "widget": reverse("advocacy:widget", args=[slug]),
        "embed": reverse("advocacy:embed", args=[slug]),
        "wall": reverse("advocacy:wall", args=[slug]),
    }
    if photo_pk:
        found["photo"] = reverse("advocacy:public_photo", args=[slug, photo_pk])
    return found


@pytest.fixture
def shown(acme, ann, today):
    """Ann: name and photo consented. Bo: anonymous, photo without consent,
    rewarded. Cy: consented but not approved. Di: approved, no consent."""
    ann_t = publish(ann, "Ann's words", display_name="Ann J.", rating=5)
    ann_t.photo.save("ann.jpg", ContentFile(b"\xff\xd8\xffann"), save=True)
    ann_t.consent_photo = True
    ann_t.save(update_fields=["consent_photo"])
    bo = factories.contact(acme, first_name="Bo", last_name="Li")
    bo_t = publish(bo, "Bo's words", display_name="Anonymous", rating=None)
    bo_t.photo.save("bo.jpg", ContentFile(b"\xff\xd8\xffbo"), save=True)
    testimonials.set_connection(bo_t, "rewarded")
    cy = factories.contact(acme, first_name="Cy")
    record_testimonial(cy, "Cy's words", on=today, consent_publish=True, display_name="Cy")
    di = factories.contact(acme, first_name="Di")
    di_t = record_testimonial(di, "Di's words", on=today, consent_publish=False)
    di_t.status = "approved"  # as an older install might have it: consent still rules
    di_t.save(update_fields=["status"])
    return {"ann": ann_t, "bo": bo_t}


def test_the_feed_keeps_its_stable_shape_and_shows_only_consented_fields(client, acme, shown):
    response = client.get(urls(acme)["feed"])
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    data = response.json()
    assert data["workspace"] == acme.slug
    items = {item["text"]: item for item in data["testimonials"]}
    assert set(items) == {"Ann's words", "Bo's words"}
    for item in items.values():
        assert {"id", "text", "rating", "name", "photo", "date", "disclosure"} <= set(item)
    ann, bo = items["Ann's words"], items["Bo's words"]
    assert (ann["name"], ann["rating"], ann["disclosure"]) == ("Ann J.", 5, None)
    assert ann["photo"] == "http://testserver" + urls(acme, shown["ann"].pk)["photo"]
    assert ann["date"] == acme.today().isoformat()
    assert (bo["name"], bo["photo"], bo["rating"]) == (None, None, None)
    assert bo["disclosure"].startswith("Acme Dental gave this client a reward")


def test_photos_are_served_only_with_their_consent(client, acme, shown):
    assert client.get(urls(acme, shown["ann"].pk)["photo"]).status_code == 200
    assert client.get(urls(acme, shown["bo"].pk)["photo"]).status_code == 404
    testimonials.withdraw(shown["ann"])
    assert client.get(urls(acme, shown["ann"].pk)["photo"]).status_code == 404


def test_no_public_response_sets_a_cookie_and_only_the_feed_answers_cors(client, acme, shown):
    # A visitor who already has a session and a CSRF cookie still gets none back.
    client.cookies["sessionid"] = "x"
    client.cookies["csrftoken"] = "y" * 32
    for name, url in urls(acme, shown["ann"].pk).items():
        response = client.get(url, HTTP_ORIGIN="https://example.org")
        assert response.status_code == 200, name
        assert not response.cookies, (name, response.cookies)
        assert "Set-Cookie" not in response, name
        assert "Cookie" not in response.get("Vary", ""), name
        cors = response.get("Access-Control-Allow-Origin")
        assert cors == ("*" if name == "feed" else None), name
    # And a private page does not answer other origins.
    assert (
        client.get(reverse("login"), HTTP_ORIGIN="https://example.org").get(
            "Access-Control-Allow-Origin"
        )
        is None
    )


def test_a_withdrawal_reaches_every_copy_within_a_minute(client, settings, acme, shown):
    settings.RAPPORT_FEED_CACHE_SECONDS = 5
    response = client.get(urls(acme)["feed"])
    max_age = int(response["Cache-Control"].split("max-age=")[1])
    assert "public" in response["Cache-Control"]
    # The server's copy, a browser's or proxy's copy, and an open widget's wait.
    worst = testimonials.server_cache_seconds() + max_age + testimonials.WIDGET_REFRESH_SECONDS
    assert worst <= testimonials.WITHDRAWAL_BOUND_SECONDS == 60
    testimonials.withdraw(shown["ann"])
    # Within the server's few seconds the copy may still answer…
    texts = [t["text"] for t in client.get(urls(acme)["feed"]).json()["testimonials"]]
    assert "Ann's words" in texts
    # …and settings cannot stretch the bound.
    settings.RAPPORT_FEED_CACHE_SECONDS = settings.RAPPORT_PUBLIC_MAX_AGE = 3600
    assert (
        testimonials.server_cache_seconds()
        + testimonials.public_max_age()
        + testimonials.WIDGET_REFRESH_SECONDS
        <= 60
    )


def test_the_server_copy_expires_on_time():
    from rapport.advocacy.public_views import ShortCache

    cache, built = ShortCache(), []

    def build():
        built.append(len(built))
        return f"version {len(built)}"

    assert cache.get("k", build, now=100.0, seconds=5) == "version 1"
    assert cache.get("k", build, now=104.9, seconds=5) == "version 1"
    assert cache.get("k", build, now=105.0, seconds=5) == "version 2"
    assert cache.get("k", build, now=105.0, seconds=0) == "version 3"  # off: always fresh
    assert cache.get("other", build, now=105.0, seconds=5) == "version 4"


def test_with_the_server_copy_off_a_withdrawal_is_gone_at_once(client, acme, shown):
    client.get(urls(acme)["feed"])
    testimonials.withdraw(shown["ann"])
    texts = [t["text"] for t in client.get(urls(acme)["feed"]).json()["testimonials"]]
    assert texts == ["Bo's words"]


def test_the_widget_is_a_few_kilobytes_of_script_that_never_parses_text_as_html(client, acme):
    response = client.get(urls(acme)["widget"])
    assert response["Content-Type"].startswith("text/javascript")
    assert len(response.content) < 6 * 1024
    script = response.content.decode()
    assert "innerHTML" not in script and "insertAdjacentHTML" not in script
    assert "textContent" in script and 'credentials: "omit"' in script
    assert f"/w/{acme.slug}/testimonials.json" in script
    assert f"/w/{acme.slug}/embed/" in script  # the iframe fallback


def test_the_iframe_may_be_framed_by_any_site_and_nothing_else_may(client, acme, shown):
    embed = client.get(urls(acme)["embed"])
    assert "X-Frame-Options" not in embed
    assert "frame-ancestors *" in embed["Content-Security-Policy"]
    wall = client.get(urls(acme)["wall"])
    assert wall["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in wall["Content-Security-Policy"]


def test_the_wall_is_honest_about_being_a_selection(client, acme, shown):
    page = client.get(urls(acme)["wall"]).content.decode()
    assert "What our clients say" in page
    assert "It is not every review we have received" in page
    assert "all reviews" not in page.lower()
    assert "aggregateRating" not in page
    assert "Cy&#x27;s words" not in page and "Di&#x27;s words" not in page


def test_the_wall_carries_schema_org_reviews_an_independent_parser_reads(client, acme, shown):
    page = client.get(urls(acme)["wall"]).content.decode()
    data = extruct.extract(page, base_url="http://testserver/", syntaxes=["microdata"])
    (organization,) = data["microdata"]
    assert organization["type"] == "https://schema.org/Organization"
    assert organization["properties"]["name"] == "Acme Dental"
    reviews = organization["properties"]["review"]
    by_body = {r["properties"]["reviewBody"]: r for r in reviews}
    assert set(by_body) == {"Ann's words", "Bo's words"}
    ann = by_body["Ann's words"]
    assert ann["type"] == "https://schema.org/Review"
    assert ann["properties"]["author"]["type"] == "https://schema.org/Person"
    assert ann["properties"]["author"]["properties"]["name"] == "Ann J."
    rating = ann["properties"]["reviewRating"]["properties"]
    assert (rating["ratingValue"], rating["bestRating"], rating["worstRating"]) == ("5", "5", "1")
    assert ann["properties"]["datePublished"] == acme.today().isoformat()
    assert by_body["Bo's words"]["properties"]["author"]["properties"]["name"] == "A client"


def test_user_text_is_escaped_everywhere_it_is_shown(client, acme, today):
    person = factories.contact(acme, first_name=PAYLOAD, last_name=PAYLOAD)
    publish(person, PAYLOAD, display_name=PAYLOAD)
    testimonials.set_connection(person.testimonials.get(), "other", PAYLOAD)
    for name in ("wall", "embed"):
        page = client.get(urls(acme)[name]).content.decode()
        assert "<script>alert(1)" not in page and "<img src=x" not in page, name
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page, name
    item = client.get(urls(acme)["feed"]).json()["testimonials"][0]
    assert item["text"] == item["name"] == PAYLOAD  # JSON carries text; the widget sets textContent
    raw = client.get(urls(acme)["feed"]).content.decode()
    assert json.loads(raw)["testimonials"][0]["disclosure"] == PAYLOAD[:160]


def test_an_unknown_workspace_is_a_plain_404(client, db):
    for name in ("feed", "widget", "embed", "wall"):
        assert client.get(reverse(f"advocacy:{name}", args=["nobody"])).status_code == 404


def test_the_feed_and_wall_of_one_workspace_never_show_another(client, acme, bright, shown):
    theirs = factories.contact(bright, first_name="Zed")
    publish(theirs, "Zed's words")
    ours = [t["text"] for t in client.get(urls(acme)["feed"]).json()["testimonials"]]
    assert "Zed's words" not in ours
    assert client.get(urls(bright, shown["ann"].pk)["photo"]).status_code == 404
    assert "Ann" not in client.get(urls(bright)["wall"]).content.decode()


def test_the_feed_answers_in_a_fixed_number_of_queries(
    client, acme, today, django_assert_max_num_queries
):
    for n in range(30):
        publish(factories.contact(acme, first_name=f"P{n}"), f"Words {n}")
    with django_assert_max_num_queries(2):
        data = client.get(urls(acme)["feed"] + "?limit=20").json()
    assert len(data["testimonials"]) == 20
