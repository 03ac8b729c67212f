import pytest

from tests import factories


@pytest.fixture
def ann(acme, today):
    """A ready client who praised the business today: a referral ask is due
    unless a gate holds it. (A module may define its own `ann`.)"""
    with factories.batch():
        ann = factories.client_with_history(acme, today)
        factories.activity(ann, today, signals=["praise"], text="Lovely")
    return ann
