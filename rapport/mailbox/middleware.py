from rapport.mailbox.backend import current_request

# How many messages a browser keeps a claim on (the newest).
KEPT = 50
SESSION_KEY = "mailbox_sent"


class MailboxMiddleware:
    """Ties mail sent while answering a request to that request: its
    workspace (backend) and its browser's session, so someone who just
    signed up can read the link in /mailbox/ without an account yet."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        reset = current_request.set(request)
        try:
            response = self.get_response(request)
        finally:
            current_request.reset(reset)
        sent = request.__dict__.get("_mailbox_sent")
        session = getattr(request, "session", None)
        if sent and session is not None:
            session[SESSION_KEY] = [*session.get(SESSION_KEY, []), *sent][-KEPT:]
        return response
