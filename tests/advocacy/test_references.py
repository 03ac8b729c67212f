"""References on request: prospects see no contact detail, only an
acceptance shares details (both told), and the monthly limit holds."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from rapport.advocacy import references
from rapport.advocacy.models import Reference, ReferenceRequest
from rapport.clients.actions import record_consent
from rapport.outreach import sending
from rapport.outreach.models import OutboundMessage
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def ref(acme, today):
    ruth = factories.client_with_history(
        acme,
        today,
        first_name="Ruth",
        last_name="Okafor",
        email="ruth@okafor.example",
        phone="+44 7700 900123",
        email_ok=True,
    )
    record_consent(ruth, "reference", True, "may give my name", "testimonial page")
    return references.create_reference(
        ruth,
        industry="Architecture",
        need="Implants",
        blurb="Runs a 12-person studio",
        monthly_limit=2,
    )


@pytest.fixture
def share_url(acme, ref):
    share, token = references.new_share(acme, "Harbor Logistics")
    return reverse("advocacy:references_public", args=[token])


def ask(client, url, ref, **fields):
    data = {"reference": ref.pk, "name": "Pat Prospect", "email": "pat@harbor.example"}
    data.update(fields)
    return client.post(url, data)


def bodies(to):
    return [
        sending.build_email(m).body
        for m in OutboundMessage.objects.filter(to_address=to).order_by("id")
    ]


def test_prospects_see_who_and_why_never_contact_details(client, share_url, ref):
    page = client.get(share_url).content.decode()
    assert "Ruth O." in page and "Architecture" in page and "Runs a 12-person studio" in page
    for detail in ("Okafor", "ruth@okafor.example", "7700 900123"):
        assert detail not in page


def test_only_an_acceptance_shares_contact_details_and_both_are_told(client, share_url, ref):
    response = ask(client, share_url, ref, company="Harbor", message="Was it worth it?")
    assert response.status_code == 200
    request = ReferenceRequest.objects.get()
    assert request.status == "pending"
    # Before any answer nothing of Ruth's reached the prospect.
    assert all("ruth@okafor.example" not in body for body in bodies("pat@harbor.example"))
    (to_ruth,) = bodies("ruth@okafor.example")
    assert "Pat Prospect of Harbor" in to_ruth and "pat@harbor.example" not in to_ruth
    page_url = to_ruth.split("Yes or no: ")[1].split()[0]
    path = page_url.replace("http://127.0.0.1:8000", "")
    page = client.get(path)
    assert page.status_code == 200 and "Was it worth it?" in page.content.decode()
    request.refresh_from_db()
    assert request.status == "pending"  # a GET changes nothing
    response = client.post(path, {"answer": "yes", "share_email": "on"})
    assert response.status_code == 200
    request.refresh_from_db()
    assert (request.status, request.share_email, request.share_phone) == ("accepted", True, False)
    prospect = bodies("pat@harbor.example")[-1]
    assert "ruth@okafor.example" in prospect and "7700 900123" not in prospect
    assert "pat@harbor.example" in bodies("ruth@okafor.example")[-1]
    # Answered once: a second POST changes nothing.
    client.post(path, {"answer": "no"})
    request.refresh_from_db()
    assert request.status == "accepted"


def test_a_decline_shares_nothing(client, share_url, ref):
    ask(client, share_url, ref)
    request = ReferenceRequest.objects.get()
    references.answer_request(request, accept=False)
    prospect = bodies("pat@harbor.example")
    assert "not able to speak to you" in prospect[-1]
    assert all("ruth" not in body.lower() for body in prospect)
    assert len(bodies("ruth@okafor.example")) == 1  # only the request itself


def test_accepting_needs_a_way_to_be_reached(ref, acme):
    request = references.request_reference(ref, share=None, name="Pat", email="p@x.example")
    with pytest.raises(references.ReferenceError):
        references.answer_request(request, accept=True, share_email=False, share_phone=False)


def test_the_monthly_limit_holds(client, acme, share_url, ref):
    now = timezone.now()
    for n in range(2):
        references.request_reference(
            ref, share=None, name=f"P{n}", email=f"p{n}@x.example", now=now
        )
    with pytest.raises(references.ReferenceError, match="this month"):
        references.request_reference(ref, share=None, name="P3", email="p3@x.example", now=now)
    # On the page: not offered, and a forced request is refused with the reason.
    page = client.get(share_url).content.decode()
    assert "Not taking requests this month" in page
    response = ask(client, share_url, ref)
    assert response.status_code == 409
    assert ReferenceRequest.objects.count() == 2
    # Next month the reference is available again.
    start, end = references.month_bounds(acme, now)
    later = end + dt.timedelta(hours=1)
    references.request_reference(ref, share=None, name="P4", email="p4@x.example", now=later)
    assert ReferenceRequest.objects.count() == 3


def test_the_month_is_the_workspaces_calendar_month(bright):
    # 03:00 UTC on 1 March is still February in New York.
    now = dt.datetime(2027, 3, 1, 3, 0, tzinfo=dt.UTC)
    start, end = references.month_bounds(bright, now)
    assert (start.month, start.day, end.month) == (2, 1, 3)


def test_a_withdrawn_consent_takes_the_reference_off_the_page(client, share_url, ref):
    record_consent(ref.contact, "reference", False, "withdrawn", "testimonial page")
    assert "Ruth O." not in client.get(share_url).content.decode()
    with pytest.raises(references.ReferenceError):
        references.request_reference(ref, share=None, name="P", email="p@x.example")


def test_only_consenting_clients_can_become_references(acme, today):
    other = factories.client_with_history(acme, today, first_name="No")
    with pytest.raises(references.ReferenceError):
        references.create_reference(other)


def test_revoked_and_expired_links_open_nothing(client, acme, ref):
    share, token = references.new_share(acme, "Old")
    references.revoke_share(share)
    assert client.get(reverse("advocacy:references_public", args=[token])).status_code == 404
    share, token = references.new_share(acme, "Short", days=1)
    share.expires_at = timezone.now() - dt.timedelta(minutes=1)
    share.save(update_fields=["expires_at"])
    assert client.get(reverse("advocacy:references_public", args=[token])).status_code == 410


def test_requests_are_rate_limited(client, share_url, ref):
    Reference.objects.filter(pk=ref.pk).update(monthly_limit=20)
    codes = [ask(client, share_url, ref, email=f"p{n}@x.example").status_code for n in range(7)]
    assert codes[:5] == [200] * 5 and codes[5:] == [429, 429]


def test_invalid_requests_rerender_with_their_errors(client, share_url, ref):
    response = ask(client, share_url, ref, email="not-an-email")
    assert response.status_code == 422
    assert ReferenceRequest.objects.count() == 0
    assert "Enter a valid email address" in response.content.decode()


def test_the_staff_page_lists_references_links_and_requests(
    alice_client, acme, ref, django_assert_max_num_queries
):
    references.request_reference(ref, share=None, name="Pat", email="p@x.example")
    alice_client.post(
        reverse("advocacy:share_create"), {"share-label": "Acme Corp", "share-days": 30}
    )
    with django_assert_max_num_queries(14):
        page = alice_client.get(reverse("advocacy:references")).content.decode()
    assert "Ruth Okafor" in page and "1 of 2 requests this month" in page
    assert "Acme Corp" in page and "/refs/" in page
