"""Review requests to the public sites: the same offer to everyone asked
(no review gating), review requests through the ask path, counted clicks
through a redirect that only ever goes to the stored address."""

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from rapport.advocacy.models import ReviewClick, ReviewSite
from rapport.outreach import actions
from rapport.outreach.models import Ask, Outcome
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def sites(acme):
    google = ReviewSite.objects.create(
        workspace=acme, platform="google", url="https://g.page/r/acme-dental/review", position=0
    )
    yelp = ReviewSite.objects.create(
        workspace=acme,
        platform="yelp",
        url="https://www.yelp.com/writeareview/biz/acme",
        position=1,
    )
    ReviewSite.objects.create(
        workspace=acme, platform="g2", url="https://www.g2.com/x", active=False
    )
    return google, yelp


def review_links(html: str) -> list[tuple[str, str]]:
    """(site id, placement) of every review link on a page, in order."""
    found = []
    for href in re.findall(r'href="([^"]*/reviews/\d+/[^"]*)"', html):
        href = href.replace("&amp;", "&")
        parts = urlsplit(href)
        site = parts.path.rstrip("/").split("/")[-1]
        found.append((site, parse_qs(parts.query)["from"][0]))
    return found


def answer_questionnaire(client, contact, nps):
    ask = actions.start_ask(contact, kind="feedback", channel="email")
    url = reverse("outreach:page", args=[ask.token()])
    return client.post(url, {"nps": str(nps), "experience": "", "improve": "", "would_refer": ""})


def test_a_detractor_is_offered_exactly_the_review_links_a_promoter_is(client, acme, today, sites):
    promoter = factories.client_with_history(acme, today, first_name="Pat", email="p@x.org")
    detractor = factories.client_with_history(acme, today, first_name="Dee", email="d@x.org")
    happy = answer_questionnaire(client, promoter, 10).content.decode()
    unhappy = answer_questionnaire(client, detractor, 2).content.decode()
    assert "sorry it was not better" in unhappy  # the detractor was heard as one…
    google, yelp = sites
    expected = [(str(google.pk), "answers"), (str(yelp.pk), "answers")]
    assert review_links(happy) == review_links(unhappy) == expected  # …and offered the same


def test_the_testimonial_thank_you_page_offers_the_review_sites(client, acme, today, sites):
    ann = factories.client_with_history(acme, today, email="ann@example.com", email_ok=True)
    ask = actions.start_ask(ann, kind="testimonial", channel="email")
    response = client.post(
        reverse("outreach:page", args=[ask.token()]),
        {"text": "Lovely", "rating": "2", "display": "first_initial"},
    )
    page = response.content.decode()
    assert [placement for _, placement in review_links(page)] == ["thanks", "thanks"]
    assert "/t/" in page  # their own page, to change or withdraw consent


def test_a_review_request_goes_through_the_ask_path_and_a_click_answers_it(
    client, alice_client, acme, today, sites
):
    ann = factories.client_with_history(acme, today, email="ann@example.com", email_ok=True)
    compose = reverse("outreach:compose", args=[ann.pk, "email"]) + "?kind=review"
    form = alice_client.get(compose).content.decode()
    assert "Would you review Acme Dental" in form
    assert "good or bad" in form
    alice_client.post(
        compose, {"kind": "review", "subject": "A review?", "body": "Would you review us?"}
    )
    ask = Ask.objects.get(contact=ann, kind="review")
    assert ask.script_key == "ask_review"
    assert ask.messages.get().body_html.count("Leave a review") == 1
    page = client.get(reverse("outreach:page", args=[ask.token()])).content.decode()
    links = re.findall(r'href="([^"]*/reviews/\d+/[^"]*)"', page)
    assert len(links) == 2
    ask.refresh_from_db()
    assert ask.outcome == Outcome.PENDING  # opening the page answers nothing
    response = client.get(links[1].replace("&amp;", "&").replace("http://testserver", ""))
    assert response.status_code == 302
    assert response["Location"] == "https://www.yelp.com/writeareview/biz/acme"
    ask.refresh_from_db()
    assert ask.outcome == Outcome.YES
    click = ReviewClick.objects.get()
    assert (click.site, click.placement, click.ask) == (sites[1], "request", ask)


def test_the_redirect_goes_only_to_the_stored_address(client, acme, bright, sites):
    google, _ = sites
    url = reverse("advocacy:review_go", args=[acme.slug, google.pk])
    for query in ("?next=https://evil.example", "?url=//evil.example", "?from=wall&to=https://e.x"):
        response = client.get(url + query)
        assert response["Location"] == google.url
    theirs = ReviewSite.objects.create(workspace=bright, platform="avvo", url="https://avvo.com/b")
    assert client.get(reverse("advocacy:review_go", args=[acme.slug, theirs.pk])).status_code == 404
    inactive = ReviewSite.objects.get(platform="g2")
    assert (
        client.get(reverse("advocacy:review_go", args=[acme.slug, inactive.pk])).status_code == 404
    )
    # A forged ask reference counts the click and credits no ask.
    client.get(url + "?from=request&ask=forged")
    assert ReviewClick.objects.filter(ask=None).count() == 4


def test_every_click_is_counted(client, acme, sites):
    google, yelp = sites
    for _ in range(7):
        client.get(reverse("advocacy:review_go", args=[acme.slug, google.pk]) + "?from=wall")
    client.get(reverse("advocacy:review_go", args=[acme.slug, yelp.pk]) + "?from=nonsense")
    assert ReviewClick.objects.filter(site=google, placement="wall").count() == 7
    assert ReviewClick.objects.get(site=yelp).placement == "other"


def test_owners_list_review_pages_at_https_addresses(alice_client, charlie_client, acme):
    url = reverse("advocacy:review_sites")
    response = alice_client.post(url, {"platform": "trustpilot", "url": "http://x.example/"})
    assert response.status_code == 422
    assert ReviewSite.objects.count() == 0
    charlie_client.post(url, {"platform": "trustpilot", "url": "https://x.example/", "position": 0})
    assert ReviewSite.objects.count() == 0  # members see them; owners change them
    alice_client.post(
        url,
        {"platform": "trustpilot", "url": "https://uk.trustpilot.com/review/acme", "position": 0},
    )
    site = ReviewSite.objects.get()
    assert site.name == "Trustpilot"
    page = alice_client.get(url).content.decode()
    assert "uk.trustpilot.com/review/acme" in page


def test_the_wall_offers_the_review_sites_too(client, acme, sites):
    page = client.get(reverse("advocacy:wall", args=[acme.slug])).content.decode()
    assert [placement for _, placement in review_links(page)] == ["wall", "wall"]
