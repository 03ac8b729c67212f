"""Public tokens: long, random, unique, and never stored as they are."""

import secrets

import pytest

from rapport.outreach import tokens

pytestmark = pytest.mark.django_db


def test_a_million_tokens_are_unique_and_carry_at_least_128_bits():
    assert tokens.TOKEN_BYTES * 8 >= 128
    batch = {secrets.token_urlsafe(tokens.TOKEN_BYTES) for _ in range(1_000_000)}
    assert len(batch) == 1_000_000
    assert min(len(t) for t in batch) >= 32  # 24 bytes in URL-safe base64


def test_a_database_dump_holds_no_live_token(objects):
    """Every secret the site hands out (client page, unsubscribe, webhook,
    calendar feed, invitation) is in the database only as a hash."""
    from django.db import connection

    live = [
        objects["ask_token"],
        objects["unsubscribe_token"],
        objects["hook_token"],
        objects["feed_token"],
        objects["invitation_token"],
    ]
    dump = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            dump.extend(repr(row) for row in cursor.fetchall())
    text = "\n".join(dump)
    for token in live:
        assert token not in text
