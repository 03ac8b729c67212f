"""Sign-in, sign-out and passwords: Django's own views and tokens, with the
throttle and the security log around them."""

from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import PasswordResetForm
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver
from django.urls import reverse_lazy
from django.utils.decorators import method_decorator

from rapport.workspaces import audit, throttle
from rapport.workspaces.forms import LoginForm


def _user_for(email: str):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.filter(username=audit.normalise_email(email)).first()


@receiver(user_logged_in)
def _logged_in(sender, request, user, **kwargs):
    audit.record(audit.Kind.LOGIN, actor=user, target=audit.target(user), request=request)


@receiver(user_logged_out)
def _logged_out(sender, request, user, **kwargs):
    if user is not None:
        audit.record(audit.Kind.LOGOUT, actor=user, target=audit.target(user), request=request)


def _about_address(kind, email: str, request) -> None:
    """An event about an address typed at a door (sign-in, reset): the
    account when there is one, and a keyed hash, not the address, so
    repeated guesses at one address can be told apart without the log
    keeping what was typed."""
    user = _user_for(email)
    audit.record(
        kind,
        actor=user,
        target=audit.target(user) if user else "",
        detail={"email_hash": audit.email_hash(email), "known": user is not None},
        request=request,
    )


@receiver(user_login_failed)
def _login_failed(sender, credentials, request=None, **kwargs):
    _about_address(audit.Kind.LOGIN_FAILED, credentials.get("username", ""), request)


class LoginView(auth_views.LoginView):
    template_name = "workspaces/login.html"
    form_class = LoginForm
    redirect_authenticated_user = True


class ResetForm(PasswordResetForm):
    def save(self, *args, request=None, **kwargs):
        _about_address(audit.Kind.PASSWORD_RESET_REQUESTED, self.cleaned_data["email"], request)
        # Django sends the email only when an active account has this
        # address; the page that follows is the same either way.
        return super().save(*args, request=request, **kwargs)


@method_decorator(throttle.throttled("reset"), name="dispatch")
class PasswordResetView(auth_views.PasswordResetView):
    template_name = "workspaces/password_reset.html"
    email_template_name = "workspaces/email/password_reset.txt"
    subject_template_name = "workspaces/email/password_reset_subject.txt"
    form_class = ResetForm
    success_url = reverse_lazy("password_reset_done")


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "workspaces/password_reset_confirm.html"
    success_url = reverse_lazy("password_reset_complete")
    # Signed in at once: the link proved the inbox, the form the password.
    post_reset_login = True
    post_reset_login_backend = "django.contrib.auth.backends.ModelBackend"

    def form_valid(self, form):
        audit.record(
            audit.Kind.PASSWORD_RESET_DONE,
            actor=form.user,
            target=audit.target(form.user),
            request=self.request,
        )
        return super().form_valid(form)


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "workspaces/password_change.html"
    success_url = "/"

    def form_valid(self, form):
        audit.record(
            audit.Kind.PASSWORD_CHANGED,
            actor=self.request.user,
            target=audit.target(self.request.user),
            request=self.request,
        )
        return super().form_valid(form)
