def workspace(request):
    membership = getattr(request, "membership", None)
    if not membership:
        return {}
    return {
        "workspace": membership.workspace,
        "membership": membership,
        # {% if can.configure %}: templates show only what the role may do.
        "can": membership.capabilities,
    }
