"""Every route of the site, what each method needs, and how to call it.

The role matrix (test_roles), the CSRF check (test_security) and the
read-only check (test_reads) all walk this table, and
`test_every_route_is_in_the_table` fails when the URL resolver has a route
the table does not: a new view cannot ship without saying who may use it.

Each entry: {"GET": need, "POST": need, "key": object in the `ours`
fixture, "data": POST data, "args": extra URL arguments}. A need is a
Capability (the role must grant it), ACCOUNT (any signed-in user, no
workspace needed), PUBLIC (no sign-in: client pages, webhooks, the account
doors) or None (the method is not served).
"""

import hashlib

from django.db import connection
from django.urls import URLPattern, URLResolver, get_resolver

from rapport.workspaces.models import Capability as C
from tests.workspaces.test_isolation import CASES

PUBLIC = "public"
ACCOUNT = "account"


def _case(name):
    method, key, data, *args = CASES[name]
    return {"key": key, "data": data, "args": args}


def work_post(name):
    return {"GET": None, "POST": C.WORK, **_case(name)}


ROUTES = {
    # -- accounts and workspaces ------------------------------------------
    "workspaces:home": {"GET": PUBLIC, "POST": None},
    "login": {"GET": PUBLIC, "POST": PUBLIC},
    "logout": {"GET": None, "POST": PUBLIC},
    "password_change": {"GET": ACCOUNT, "POST": ACCOUNT},
    "password_reset": {"GET": PUBLIC, "POST": PUBLIC},
    "password_reset_done": {"GET": PUBLIC, "POST": None},
    "password_reset_confirm": {"GET": PUBLIC, "POST": PUBLIC, "key": "reset"},
    "password_reset_complete": {"GET": PUBLIC, "POST": None},
    "workspaces:signup": {"GET": PUBLIC, "POST": PUBLIC},
    "workspaces:signup_confirm": {"GET": PUBLIC, "POST": PUBLIC, "key": "signup"},
    "workspaces:invitation": {"GET": PUBLIC, "POST": PUBLIC, "key": "invitation_token"},
    "workspaces:create": {"GET": ACCOUNT, "POST": ACCOUNT, "data": {"workspace_name": ""}},
    "workspaces:switch": {"GET": None, "POST": ACCOUNT, "key": "workspace"},
    "workspaces:settings": {"GET": C.READ, "POST": C.CONFIGURE, "data": {"name": ""}},
    "workspaces:members": {
        "GET": C.READ,
        "POST": C.MANAGE_MEMBERS,
        "data": {"email": "new-member@example.com", "role": "member"},
    },
    "workspaces:member_role": {
        "GET": None,
        "POST": C.MANAGE_MEMBERS,
        **_case("workspaces:member_role"),
    },
    "workspaces:member_remove": {"GET": None, "POST": C.MANAGE_MEMBERS, "key": "viewer_membership"},
    "workspaces:invitation_revoke": {
        "GET": None,
        "POST": C.MANAGE_MEMBERS,
        **_case("workspaces:invitation_revoke"),
    },
    "workspaces:security_log": {"GET": C.AUDIT, "POST": None},
    # The development mailbox: the workspace's mail for owners; the mail this
    # browser caused (a sign-up link) for anyone, ids kept in its session.
    "mailbox:workspace": {"GET": C.AUDIT, "POST": None},
    "mailbox:sent_here": {"GET": PUBLIC, "POST": None},
    # -- the agenda --------------------------------------------------------
    "agenda:today": {"GET": C.READ, "POST": None},
    "outreach:item_outcome": {"GET": C.WORK, "POST": C.WORK, **_case("outreach:item_outcome")},
    "agenda:done": work_post("agenda:done"),
    "winback:recover": {"GET": C.WORK, "POST": C.WORK, **_case("winback:recover")},
    "winback:reactivation": {"GET": C.WORK, "POST": C.WORK, **_case("winback:reactivation")},
    "agenda:snooze": {"GET": C.WORK, "POST": C.WORK, **_case("agenda:snooze")},
    "agenda:answer_reading": work_post("agenda:answer_reading"),
    "agenda:decide_permission": work_post("agenda:decide_permission"),
    # Each person's own day: every role may set how many actions it holds.
    "agenda:capacity": {"GET": None, "POST": C.READ, "data": {"daily_capacity": "12"}},
    "outreach:winback_batch": {"GET": None, "POST": C.WORK},
    "agenda:rebuild": {"GET": None, "POST": C.CONFIGURE},
    "agenda:scripts": {"GET": C.READ, "POST": None},
    "agenda:script_edit": {
        "GET": C.READ,
        "POST": C.CONFIGURE,
        "args": ["apology"],
        "data": {"body": "Sorry, {first_name}."},
    },
    # -- the record --------------------------------------------------------
    "clients:list": {"GET": C.READ, "POST": None},
    "clients:create": {"GET": C.READ, "POST": C.WORK, "data": {"first_name": "New"}},
    "clients:detail": {"GET": C.READ, "POST": None, "key": "contact"},
    "clients:edit": {"GET": C.READ, "POST": C.WORK, **_case("clients:edit")},
    "clients:log_activity": work_post("clients:log_activity"),
    "clients:add_purchase": work_post("clients:add_purchase"),
    "clients:open_issue": work_post("clients:open_issue"),
    "clients:add_permission": work_post("clients:add_permission"),
    "clients:change_stage": work_post("clients:change_stage"),
    "clients:set_relationship": work_post("clients:set_relationship"),
    "clients:add_deal": work_post("clients:add_deal"),
    "advocacy:add_testimonial": work_post("advocacy:add_testimonial"),
    "clients:resolve_issue": work_post("clients:resolve_issue"),
    "clients:update_deal": work_post("clients:update_deal"),
    "clients:import": {"GET": C.CONFIGURE, "POST": C.CONFIGURE},
    "clients:import_preview": {"GET": C.CONFIGURE, "POST": C.CONFIGURE, "key": "batch"},
    "clients:import_status": {"GET": C.CONFIGURE, "POST": None, "key": "batch"},
    # -- outreach ----------------------------------------------------------
    "outreach:delivery": {
        "GET": C.READ,
        "POST": C.CONFIGURE,
        "data": {"channel": "email", "address": "blocked@example.com"},
    },
    "outreach:compose": {"GET": C.WORK, "POST": C.WORK, **_case("outreach:compose")},
    "outreach:qr": work_post("outreach:qr"),
    "outreach:export": {"GET": C.EXPORT, "POST": None, "key": "contact"},
    "outreach:erase": {"GET": C.ERASE, "POST": C.ERASE, **_case("outreach:erase")},
    "outreach:card": {"GET": C.READ, "POST": None, "key": "ask"},
    "outreach:outbox": {"GET": C.READ, "POST": None},
    "outreach:retry": work_post("outreach:retry"),
    "outreach:logo": {"GET": PUBLIC, "POST": None, "key": "workspace"},
    "outreach:page": {"GET": PUBLIC, "POST": PUBLIC, "key": "ask_token"},
    "outreach:later": {"GET": PUBLIC, "POST": PUBLIC, "key": "ask_token"},
    "outreach:unsubscribe": {"GET": PUBLIC, "POST": PUBLIC, "key": "unsubscribe_token"},
    "outreach:email_events": {"GET": None, "POST": PUBLIC, "key": "hook_token"},
    "outreach:sms_inbound": {"GET": None, "POST": PUBLIC, "key": "hook_token"},
    "outreach:postmark_events": {"GET": None, "POST": PUBLIC, "key": "hook_token"},
    "outreach:twilio_inbound": {"GET": None, "POST": PUBLIC, "key": "hook_token"},
    # A member's own calendar feed and digest: every role (READ) may change them.
    "outreach:personal_settings": {"GET": C.READ, "POST": None},
    "outreach:feed_create": {"GET": None, "POST": C.READ},
    "outreach:feed_off": {"GET": None, "POST": C.READ},
    "outreach:digest_toggle": {"GET": None, "POST": C.READ, "data": {"wants_digest": "on"}},
    "outreach:automation": {"GET": C.READ, "POST": C.CONFIGURE},
    "outreach:calendar_feed": {"GET": PUBLIC, "POST": None, "key": "feed_token"},
    # -- win-back ----------------------------------------------------------
    "winback:winback": {"GET": C.READ, "POST": None},
    "winback:export": {"GET": C.READ, "POST": None},
    # -- advocacy: testimonials, reviews, references, insights -------------
    "advocacy:queue": {"GET": C.READ, "POST": None},
    "advocacy:moderate": work_post("advocacy:moderate"),
    "advocacy:testimonial_photo": {"GET": C.READ, "POST": None, "key": "photo_testimonial"},
    "advocacy:review_sites": {
        "GET": C.READ,
        "POST": C.CONFIGURE,
        "data": {"platform": "yelp", "url": "https://www.yelp.com/biz/acme"},
    },
    "advocacy:review_site_edit": {
        "GET": None,
        "POST": C.CONFIGURE,
        **_case("advocacy:review_site_edit"),
    },
    "advocacy:references": {"GET": C.READ, "POST": C.WORK},
    "advocacy:reference_edit": work_post("advocacy:reference_edit"),
    "advocacy:share_create": {"GET": None, "POST": C.WORK, "data": {"label": "A prospect"}},
    "advocacy:share_revoke": work_post("advocacy:share_revoke"),
    "advocacy:insights": {"GET": C.READ, "POST": None},
    "advocacy:insights_csv": {"GET": C.EXPORT, "POST": None},
    "advocacy:wall": {"GET": PUBLIC, "POST": None, "key": "slug"},
    "advocacy:feed": {"GET": PUBLIC, "POST": None, "key": "slug"},
    "advocacy:widget": {"GET": PUBLIC, "POST": None, "key": "slug"},
    "advocacy:embed": {"GET": PUBLIC, "POST": None, "key": "slug"},
    "advocacy:public_photo": {"GET": PUBLIC, "POST": None, "key": "slug_photo"},
    "advocacy:review_go": {"GET": PUBLIC, "POST": None, "key": "slug_review"},
    "advocacy:client_testimonial": {"GET": PUBLIC, "POST": PUBLIC, "key": "testimonial_token"},
    "advocacy:references_public": {"GET": PUBLIC, "POST": PUBLIC, "key": "share_token"},
    "advocacy:reference_answer": {"GET": PUBLIC, "POST": PUBLIC, "key": "request_token"},
    # -- advocacy: referrals to won, codes, rewards, thank-yous, gives --------
    "advocacy:board": {"GET": C.READ, "POST": None},
    "advocacy:codes": {"GET": C.READ, "POST": None},
    "advocacy:issue_codes": {"GET": None, "POST": C.CONFIGURE},
    "advocacy:referral": {"GET": C.READ, "POST": None, "key": "referral"},
    "advocacy:move": work_post("advocacy:move"),
    "advocacy:intro_sent": work_post("advocacy:intro_sent"),
    "advocacy:intro_email": work_post("advocacy:intro_email"),
    "advocacy:tell_referrer": work_post("advocacy:tell_referrer"),
    "advocacy:call_done": work_post("advocacy:call_done"),
    "advocacy:add_referral": work_post("advocacy:add_referral"),
    "advocacy:add_give": work_post("advocacy:add_give"),
    "advocacy:issue_code": work_post("advocacy:issue_code"),
    "advocacy:revoke_code": work_post("advocacy:revoke_code"),
    "advocacy:code_card": {"GET": C.READ, "POST": None, "key": "code"},
    "advocacy:desk": {"GET": C.READ, "POST": None},
    "advocacy:redeem": work_post("advocacy:redeem"),
    "advocacy:desk_lead": work_post("advocacy:desk_lead"),
    "advocacy:settings": {"GET": C.READ, "POST": C.CONFIGURE, "data": {"profile": "bogus"}},
    "advocacy:rule_new": {"GET": C.READ, "POST": C.CONFIGURE, "data": {"name": ""}},
    "advocacy:rule_edit": {"GET": C.READ, "POST": C.CONFIGURE, **_case("advocacy:rule_edit")},
    "advocacy:thank_yous": {"GET": C.READ, "POST": None},
    "advocacy:cards": {"GET": C.READ, "POST": None},
    "advocacy:card_sent": work_post("advocacy:card_sent"),
    "advocacy:thank_you_email": {
        "GET": C.READ,
        "POST": C.WORK,
        **_case("advocacy:thank_you_email"),
    },
    "advocacy:thank_you_kind": work_post("advocacy:thank_you_kind"),
    "advocacy:gives": {"GET": C.READ, "POST": None},
    "advocacy:give_outcome": work_post("advocacy:give_outcome"),
    "advocacy:merges": {"GET": C.READ, "POST": None},
    "advocacy:merge": work_post("advocacy:merge"),
    "advocacy:dismiss_merge": work_post("advocacy:dismiss_merge"),
    "advocacy:merge_record": {"GET": C.READ, "POST": None, "key": "merge_record"},
    "advocacy:undo_merge": work_post("advocacy:undo_merge"),
    "advocacy:landing": {"GET": PUBLIC, "POST": PUBLIC, "key": "referral_code"},
    "advocacy:introduction": {"GET": PUBLIC, "POST": PUBLIC, "key": "introduction_token"},
}

# Views that take POST without a CSRF token, by design: RFC 8058 one-click
# unsubscribe and provider webhooks authenticate by the token in their URL.
CSRF_EXEMPT = {
    "outreach:unsubscribe",
    "outreach:email_events",
    "outreach:sms_inbound",
    "outreach:postmark_events",
    "outreach:twilio_inbound",
}


def site_routes(resolver=None, prefix=""):
    """(name, pattern) of every named route but Django's admin."""
    resolver = resolver or get_resolver()
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            namespace = pattern.namespace or ""
            if namespace == "admin":
                continue
            yield from site_routes(pattern, f"{prefix}{namespace}:" if namespace else prefix)
        elif isinstance(pattern, URLPattern) and pattern.name:
            yield f"{prefix}{pattern.name}", pattern


# Bookkeeping that a request may write without changing anything stored for
# the business: sessions, the sign-in throttle's counts, rate-limit buckets.
NOT_DATA = {
    "django_session",
    "axes_accessattempt",
    "axes_accesslog",
    "axes_accessfailurelog",
    "workspaces_ratebucket",
    "workspaces_attemptwindow",
}


def database_checksum() -> dict[str, str]:
    """Per table: a hash of its rows (sorted, so the order they come in
    does not matter)."""
    sums = {}
    with connection.cursor() as cursor:
        for table in sorted(connection.introspection.table_names(cursor)):
            if table in NOT_DATA:
                continue
            quoted = connection.ops.quote_name(table)
            cursor.execute(f"SELECT * FROM {quoted}")
            digest = hashlib.sha256()
            for row in sorted(repr(row) for row in cursor.fetchall()):
                digest.update(row.encode())
            sums[table] = digest.hexdigest()
    return sums


def url_args(entry: dict, objects: dict) -> list:
    args = []
    if entry.get("key"):
        value = objects[entry["key"]]
        if isinstance(value, tuple):
            args.extend(value)
        else:
            args.append(value if isinstance(value, str) else value.pk)
    return args + list(entry.get("args", []))
