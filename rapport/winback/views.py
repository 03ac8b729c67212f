"""The win-back view: lapsed and at-risk clients, what they are worth, and
what came of each win-back call; the same list as CSV."""

from django.core.paginator import Paginator
from django.http import HttpResponse
from django.template.response import TemplateResponse

from rapport.winback import report
from rapport.workspaces.access import work_required

PAGE_SIZE = 50


def _choices(request) -> tuple[str, str]:
    show = request.GET.get("show") or "all"
    sort = request.GET.get("sort") or "revenue"
    return (
        show if show in report.SHOW else "all",
        sort if sort in report.SORTS else "revenue",
    )


@work_required
def winback(request):
    workspace = request.workspace
    show, sort = _choices(request)
    found = report.build(workspace, show=show, sort=sort)
    page = Paginator(found.rows, PAGE_SIZE).get_page(request.GET.get("page"))
    report.fill_contacts(workspace, page.object_list)
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "report": found,
        "page": page,
        "show": show,
        "sort": sort,
        "shows": report.SHOW.items(),
        "sorts": report.SORTS.items(),
        "query": query.urlencode(),
        "at_risk_below": round(report.AT_RISK_BELOW * 100),
        "assumed_lapsed": round(report.ASSUMED_ALIVE_LAPSED * 100),
        "assumed_at_risk": round(report.ASSUMED_ALIVE_AT_RISK * 100),
        "nav": "winback",
    }
    template = "winback/winback.html#results" if request.htmx else "winback/winback.html"
    return TemplateResponse(request, template, context)


@work_required
def export(request):
    workspace = request.workspace
    show, sort = _choices(request)
    found = report.build(workspace, show=show, sort=sort)
    report.fill_contacts(workspace, found.rows)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    # The slug is [a-z0-9-] only: safe in the header as it is.
    filename = f"winback-{workspace.slug}-{show}-{found.on.isoformat()}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    report.write_csv(found.rows, response)
    return response
