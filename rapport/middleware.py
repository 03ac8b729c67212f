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
