"""The insights page (server-rendered SVG charts, readable without
JavaScript) and its CSV download, over a chosen period."""

from django.http import HttpResponse
from django.template.response import TemplateResponse

from rapport.advocacy import insights
from rapport.advocacy.testimonial_forms import PeriodForm
from rapport.workspaces import audit
from rapport.workspaces.access import export_required, work_required


def _period(request):
    form = PeriodForm(request.GET or None, today=request.workspace.today())
    return form, form.period()


@work_required
def insights_page(request):
    form, (start, end) = _period(request)
    report = insights.build(request.workspace, start, end)
    context = {
        "form": form,
        "report": report,
        "charts": [(figure, figure.chart()) for figure in report.figures],
        "query": request.GET.urlencode(),
        "nav": "insights",
    }
    status = 422 if form.errors else 200
    return TemplateResponse(request, "advocacy/insights.html", context, status=status)


@export_required
def insights_csv(request):
    form, (start, end) = _period(request)
    report = insights.build(request.workspace, start, end)
    audit.record(
        audit.Kind.EXPORT,
        workspace=request.workspace,
        target="insights",
        detail={"what": "insights CSV", "from": str(start), "to": str(end)},
        request=request,
    )
    response = HttpResponse(insights.to_csv(report), content_type="text/csv; charset=utf-8")
    name = f"rapport-insights-{request.workspace.slug}-{start}-{end}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
