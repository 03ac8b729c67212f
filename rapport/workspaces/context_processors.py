def workspace(request):
    membership = getattr(request, "membership", None)
    if not membership:
        return {}
    return {"workspace": membership.workspace, "membership": membership}
