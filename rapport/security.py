"""Response headers that differ from the site's defaults.

Every response carries the Content-Security-Policy of settings (django-csp)
with `frame-ancestors 'none'`, and `X-Frame-Options: DENY`: no page of
Rapport can be framed by another site. A view whose whole point is to be
embedded (the testimonial widget's iframe under /w/<slug>/) says so with
`@allow_framing`, and only it.
"""

from csp.decorators import csp_replace
from django.views.decorators.clickjacking import xframe_options_exempt


def allow_framing(view=None, *, ancestors=("*",)):
    """Let other sites frame this view. `ancestors` are CSP source
    expressions (("https://example.com",) for one site; all by default).
    The rest of the site's policy (scripts, styles, forms) stays as it is."""

    def decorate(func):
        framed = xframe_options_exempt(csp_replace({"frame-ancestors": list(ancestors)})(func))
        framed.allows_framing = True
        return framed

    return decorate(view) if view is not None else decorate
