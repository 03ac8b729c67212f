import pytest

from rapport.advocacy import testimonials
from rapport.advocacy.actions import record_testimonial
from tests import factories


def publish(contact, text="Wonderful team", **fields):
    """A testimonial given with consent to publish, then approved."""
    fields.setdefault("consent_publish", True)
    fields.setdefault("display_name", f"{contact.first_name} {contact.last_name[:1]}.")
    fields.setdefault("rating", 5)
    testimonial = record_testimonial(contact, text, on=contact.workspace.today(), **fields)
    testimonials.approve(testimonial)
    return testimonial


@pytest.fixture
def ann(acme, today):
    return factories.client_with_history(
        acme, today, first_name="Ann", last_name="Jones", email="ann@example.com", email_ok=True
    )


@pytest.fixture(autouse=True)
def _fresh_landing_showcase():
    # The landing page keeps each workspace's showcase for a few seconds;
    # ids are reused between tests, so every test starts without it.
    from rapport.advocacy import landing_views

    landing_views._showcase.clear()
    landing_views._owners.clear()
    yield
    landing_views._showcase.clear()
    landing_views._owners.clear()
