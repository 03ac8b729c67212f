from django.contrib.messages import get_messages
from django.middleware.csrf import CsrfViewMiddleware
from django.template.loader import render_to_string


class HtmxMessagesMiddleware:
    """Delivers Django messages to htmx requests too.

    A full page shows messages in its layout; an htmx swap does not re-render
    the layout, so the messages travel out-of-band and are appended to the
    response as the #messages element.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not getattr(request, "htmx", False) or "HX-Redirect" in response:
            return response
        if response.get("Content-Type", "").split(";")[0] != "text/html":
            return response
        if response.streaming or 300 <= response.status_code < 400:
            return response
        messages = list(get_messages(request))
        if messages:
            response.content += render_to_string(
                "messages.html", {"messages": messages, "oob": True}, request=request
            ).encode()
        return response


class NullOriginCsrfMiddleware(CsrfViewMiddleware):
    """Django's CSRF protection, with one allowance, for the client pages.

    Client pages send `Referrer-Policy: no-referrer` (their URL holds a
    token), and under that policy browsers send `Origin: null` with a form
    POST, which Django's origin check refuses. On those pages a null origin
    is accepted and the CSRF token itself (cookie and form field, both still
    required) is the check. Applied per view (outreach.public_views), never
    as the site's middleware; overriding this one method keeps the rest.
    """

    def _origin_verified(self, request):
        if request.META.get("HTTP_ORIGIN") == "null":
            return True
        return super()._origin_verified(request)


class PublicResponseMiddleware:
    """Public, cacheable responses (the testimonial feed, the widget, the
    wall) carry no cookie at all — not even the session middleware's
    deletion of a stale one — so shared caches keep them and embedding
    sites' visitors are not tracked. A view opts in by setting
    `response.cookieless = True`. Sits above the session, CSRF and
    messages middleware so it sees their cookies."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if getattr(response, "cookieless", False):
            response.cookies.clear()
            if response.has_header("Vary"):
                kept = [v for v in response["Vary"].split(",") if v.strip().lower() != "cookie"]
                if kept:
                    response["Vary"] = ",".join(kept)
                else:
                    del response["Vary"]
        return response


class QueryCountMiddleware:
    """`rapport bench pages` only: the number of SQL queries a request ran,
    in an `X-Rapport-Queries` header, so the bench reads it from the real
    server. Off unless RAPPORT_BENCH_QUERIES=1 is set when the server
    starts — then Django drops it from the chain (MiddlewareNotUsed) and it
    costs nothing."""

    def __init__(self, get_response):
        import os

        from django.core.exceptions import MiddlewareNotUsed

        if os.environ.get("RAPPORT_BENCH_QUERIES") != "1":
            raise MiddlewareNotUsed
        self.get_response = get_response

    def __call__(self, request):
        from django.db import connection

        count = [0]

        def counted(execute, sql, params, many, context):
            count[0] += 1
            return execute(sql, params, many, context)

        with connection.execute_wrapper(counted):
            response = self.get_response(request)
        response["X-Rapport-Queries"] = str(count[0])
        return response
