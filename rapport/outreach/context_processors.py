from django.utils.functional import SimpleLazyObject


def delivery(request):
    """Sending paused by the server's fault, for the banner on every page:
    read only when a page shows it (one small query)."""
    workspace = getattr(request, "workspace", None)
    if not workspace:
        return {}

    def pauses():
        from rapport.outreach.models import DeliveryPause

        return list(DeliveryPause.objects.in_workspace(workspace).active())

    return {"delivery_pauses": SimpleLazyObject(pauses)}
