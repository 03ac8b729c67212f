"""The team's side of referrals: the board, the contact page's referral
panel, introductions, codes, the desk, rewards, thank-yous, gives, merges.
Every view reaches its object through the workspace (404 otherwise) and
changes state only through `advocacy.actions`, `rewards` or `merge`."""

import segno
from django.contrib import messages
from django.db.models import Count, Prefetch, Q
from django.http import QueryDict
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import Resolver404, resolve
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from rapport.advocacy import actions, facts, profiles, rewards
from rapport.advocacy.forms import (
    BoardFilterForm,
    CodeForm,
    DeskLeadForm,
    GiveOutcomeForm,
    MoveForm,
    ProgramForm,
    ReferralForm,
    ReferralGivenForm,
    RewardRuleForm,
    TestimonialForm,
    ThankYouEmailForm,
    ThankYouKindForm,
)
from rapport.advocacy.merge import MergeRefused, merge_contacts, undo_merge
from rapport.advocacy.models import (
    ContactMerge,
    Introduction,
    MergeSuggestion,
    Referral,
    ReferralCode,
    ReferralGiven,
    ReferralProgram,
    ReferrerUpdate,
    Reward,
    RewardRule,
    ThankYou,
)
from rapport.clients.models import Contact, Deal, Purchase
from rapport.workspaces.access import configure_required, get_in_workspace, work_required

Status = Referral.Status
COLUMN_LIMIT = 50
# `next=` may only send the user back to one of these apps' own pages.
NEXT_NAMESPACES = {"advocacy", "clients", "agenda"}
PUBLIC_PAGES = {"advocacy:landing", "advocacy:introduction"}


def safe_next(request, default: str) -> str:
    """A local path of an allowlisted page, or the default: never an open redirect."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if not target or not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return default
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    try:
        match = resolve(target.split("?")[0])
    except Resolver404:
        return default
    if match.namespace not in NEXT_NAMESPACES or match.view_name in PUBLIC_PAGES:
        return default
    return target


def _back(request, default: str, message: str = "", error: str = ""):
    if message:
        messages.success(request, message)
    if error:
        messages.error(request, error)
    return redirect(safe_next(request, default))


def _contact(request, pk):
    return get_in_workspace(Contact.objects.active(), request.workspace, pk=pk)


def _referral(request, pk):
    return get_in_workspace(
        Referral.objects.select_related("referrer__workspace", "referred", "workspace"),
        request.workspace,
        pk=pk,
    )


# -- the board ---------------------------------------------------------------


def _board_context(request, params=None):
    workspace = request.workspace
    today = workspace.today()
    params = request.GET if params is None else params
    form = BoardFilterForm(params or None)
    referrals = Referral.objects.in_workspace(workspace).filter(referred__erased_at=None)
    stale = {s.referral_id: s for s in facts.stale_referrals(workspace, today)}
    if form.is_valid():
        data = form.cleaned_data
        for word in (data.get("referrer") or "").split():
            referrals = referrals.filter(
                Q(referrer__first_name__icontains=word) | Q(referrer__last_name__icontains=word)
            )
        if data.get("how"):
            referrals = referrals.filter(how=data["how"])
        after, before = form.since(today)
        if after:
            referrals = referrals.filter(date__gte=after)
        if before:
            referrals = referrals.filter(date__lte=before)
        if data.get("age") == "stale":
            referrals = referrals.filter(pk__in=list(stale))
    counts = dict(
        referrals.order_by().values("status").annotate(n=Count("id")).values_list("status", "n")
    )
    cards = (
        referrals.select_related("referrer", "referred", "introduction", "code", "update")
        .prefetch_related(Prefetch("rewards", queryset=Reward.objects.order_by("pk")))
        .order_by("-date", "-pk")
    )
    columns = []
    for value, label in Status.choices:
        rows = list(cards.filter(status=value)[:COLUMN_LIMIT])
        for referral in rows:
            referral.stale = stale.get(referral.pk)
        columns.append(
            {"status": value, "label": label, "count": counts.get(value, 0), "rows": rows}
        )
    query = params.urlencode()
    return {
        "form": form,
        "columns": columns,
        "statuses": Status.choices,
        "lost_reasons": Referral.LostReason.choices,
        "query": query,
        "today": today,
        "limit": COLUMN_LIMIT,
        "nav": "referrals",
    }


@work_required
def board(request):
    template = "advocacy/board.html#board" if request.htmx else "advocacy/board.html"
    response = TemplateResponse(request, template, _board_context(request))
    response["Vary"] = "HX-Request"
    return response


@work_required
@require_POST
def move(request, pk):
    referral = _referral(request, pk)
    form = MoveForm(request.POST)
    error = ""
    if form.is_valid():
        data = form.cleaned_data
        deal = purchase = None
        kind, _, fact_pk = (data.get("won_fact") or "").partition(":")
        if kind == "deal":
            deal = get_in_workspace(Deal, request.workspace, pk=fact_pk)
        elif kind == "purchase":
            purchase = get_in_workspace(Purchase, request.workspace, pk=fact_pk)
        via = actions.Via.CONTACT if request.POST.get("from") == "contact" else actions.Via.BOARD
        try:
            actions.move_referral(
                referral,
                data["status"],
                on=request.workspace.today(),
                by=request.user,
                via=via,
                lost_reason=data.get("lost_reason") or "",
                lost_note=data.get("lost_note") or "",
                deal=deal,
                purchase=purchase,
                value=data.get("value"),
            )
        except actions.Refused as refused:
            error = str(refused)
    else:
        error = "; ".join(e for errors in form.errors.values() for e in errors)
    if request.htmx and request.POST.get("from") != "contact":
        if error:
            messages.error(request, error)
        else:
            messages.success(request, f"{referral.referred.name}: {referral.get_status_display()}.")
        # The board's filters travel with the move, so the swap keeps them.
        params = QueryDict(mutable=True)
        for key in BoardFilterForm.base_fields:
            params[key] = request.POST.get(key, "")
        context = _board_context(request, params)
        response = TemplateResponse(request, "advocacy/board.html#board", context)
        response.status_code = 422 if error else 200
        return response
    referral.refresh_from_db()
    if error:
        return _back(request, "/referrals/", error=error)
    return _back(
        request, "/referrals/", f"{referral.referred.name}: {referral.get_status_display()}."
    )


@work_required
def referral_detail(request, pk):
    referral = _referral(request, pk)
    intro = getattr(referral, "introduction", None)
    draft = None
    if intro and intro.pending:
        from rapport.outreach.compose import absolute

        link = absolute(f"/i/{actions.introduction_token(intro)}/")
        draft = actions.introduction_draft(intro, link)
    deals = Deal.objects.filter(workspace=request.workspace, contact=referral.referred)
    purchases = Purchase.objects.filter(workspace=request.workspace, contact=referral.referred)[:20]
    context = {
        "referral": referral,
        "intro": intro,
        "draft": draft,
        "events": referral.events.select_related("by"),
        "rewards": referral.rewards.select_related("contact"),
        "deals": deals,
        "purchases": purchases,
        "statuses": Status.choices,
        "lost_reasons": Referral.LostReason.choices,
        "update": getattr(referral, "update", None),
        "confidential": ReferralProgram.for_workspace(request.workspace).profile
        in actions.CONFIDENTIAL_PROFILES,
        "nav": "referrals",
    }
    return TemplateResponse(request, "advocacy/referral.html", context)


@work_required
@require_POST
def intro_sent(request, pk):
    referral = _referral(request, pk)
    intro = get_in_workspace(Introduction, request.workspace, referral=referral)
    actions.mark_introduction_sent(
        intro, on=request.workspace.today(), via=request.POST.get("via", "by hand"), by=request.user
    )
    return _back(request, f"/referrals/{pk}/", "Marked as sent.")


@work_required
@require_POST
def intro_email(request, pk):
    referral = _referral(request, pk)
    intro = get_in_workspace(Introduction, request.workspace, referral=referral)
    try:
        actions.email_introduction_to_referrer(intro, by=request.user)
    except actions.Refused as refused:
        return _back(request, f"/referrals/{pk}/", error=str(refused))
    return _back(
        request,
        f"/referrals/{pk}/",
        f"The note is on its way to {referral.referrer.first_name}, to forward.",
    )


@work_required
@require_POST
def tell_referrer(request, pk):
    referral = _referral(request, pk)
    channel = request.POST.get("channel", ReferrerUpdate.Channel.EMAIL)
    if channel not in ReferrerUpdate.Channel.values:
        return _back(request, f"/referrals/{pk}/", error="Choose email or a call.")
    try:
        actions.tell_referrer(
            referral,
            channel=channel,
            by=request.user,
            friend_agreed=request.POST.get("friend_agreed") == "on",
        )
    except actions.Refused as refused:
        return _back(request, f"/referrals/{pk}/", error=str(refused))
    done = "Email queued" if channel == "email" else "Call added to the list"
    return _back(request, f"/referrals/{pk}/", f"{done}: {referral.referrer.first_name} will know.")


@work_required
@require_POST
def call_done(request, pk):
    update = get_in_workspace(
        ReferrerUpdate.objects.select_related(
            "referral__referrer__workspace", "referral__referred"
        ),
        request.workspace,
        pk=pk,
    )
    actions.call_made(update, by=request.user, on=request.workspace.today())
    return _back(request, f"/referrals/{update.referral_id}/", "Call recorded.")


# -- the contact page --------------------------------------------------------


def _contact_error(request, contact, **forms):
    from rapport.clients.views import render_contact

    request.advocacy_forms = forms
    return render_contact(request, contact, status=422)


def _contact_done(request, contact, message="", error=""):
    from rapport.clients.views import render_contact

    if message:
        messages.success(request, message)
    if error:
        messages.error(request, error)
    if request.htmx:
        contact.refresh_from_db()
        return render_contact(request, contact)
    return redirect("clients:detail", pk=contact.pk)


def contact_section(request, contact, forms) -> dict:
    """The testimonials part of the contact page (registered with clients.hooks)."""
    forms = {**getattr(request, "advocacy_forms", {}), **forms}
    today = request.workspace.today()
    return {
        "testimonials": contact.testimonials.all(),
        "testimonial_form": forms.get("testimonial_form")
        or TestimonialForm(initial={"received_on": today}),
    }


@work_required
@require_POST
def add_testimonial(request, pk):
    contact = _contact(request, pk)
    form = TestimonialForm(request.POST)
    if not form.is_valid():
        return _contact_error(request, contact, testimonial_form=form)
    data = form.cleaned_data
    actions.record_testimonial(
        contact,
        data["text"],
        on=data["received_on"],
        rating=data["rating"],
        unsolicited=data["unsolicited"],
    )
    return _contact_done(
        request, contact, "Testimonial recorded; it waits for moderation before it is shown."
    )


@work_required
@require_POST
def add_referral(request, pk):
    contact = _contact(request, pk)
    form = ReferralForm(request.POST)
    if not form.is_valid():
        return _contact_error(request, contact, referral_form=form)
    data = form.cleaned_data
    person = {
        "first_name": data["first_name"],
        "last_name": data["last_name"],
        "email": data["email"],
        "phone": data["phone"],
        "note": data["note"],
        "wants_intro": data["intro"],
    }
    if actions.matching.is_self_referral(contact, email=data["email"], phone=data["phone"]):
        form.add_error(None, f"That is {contact.first_name}'s own email or phone.")
        return _contact_error(request, contact, referral_form=form)
    people = actions.receive_names(
        contact,
        [person],
        on=data["date"],
        how=data["how"],
        by=request.user,
        unsolicited=data["unsolicited"],
    )
    if not people:
        return _contact_done(request, contact, error="Nothing recorded.")
    referred = people[0]
    note = "already in your contacts" if referred.was_known else "a new prospect"
    return _contact_done(request, contact, f"Referral recorded: {referred.name} is {note}.")


@work_required
@require_POST
def add_give(request, pk):
    contact = _contact(request, pk)
    form = ReferralGivenForm(request.POST)
    if not form.is_valid():
        return _contact_error(request, contact, given_form=form)
    data = form.cleaned_data
    actions.record_referral_given(
        contact,
        data["description"],
        on=data["given_on"],
        by=request.user,
        introduced=data["introduced"],
    )
    return _contact_done(request, contact, "Recorded: we gave them a referral.")


@work_required
@require_POST
def issue_code(request, pk):
    contact = _contact(request, pk)
    try:
        code = actions.issue_code(contact)
    except actions.Refused as refused:
        return _contact_done(request, contact, error=str(refused))
    return _contact_done(request, contact, f"{contact.first_name}'s referral code: {code.display}.")


@configure_required
@require_POST
def issue_codes(request):
    made = actions.issue_codes(request.workspace)
    return _back(request, "/referrals/codes/", f"{made} new referral codes made.")


@work_required
def codes(request):
    live = (
        ReferralCode.objects.in_workspace(request.workspace)
        .select_related("contact")
        .annotate(leads=Count("referrals"))
        .order_by("revoked_at", "-clicks", "pk")
    )
    context = {"codes": live[:500], "nav": "referrals"}
    return TemplateResponse(request, "advocacy/codes.html", context)


@work_required
@require_POST
def revoke_code(request, pk):
    code = get_in_workspace(ReferralCode, request.workspace, pk=pk)
    actions.revoke_code(code)
    return _back(
        request, "/referrals/codes/", f"Code {code.display} revoked: it now opens nothing."
    )


@work_required
def code_card(request, pk):
    code = get_in_workspace(
        ReferralCode.objects.select_related("contact"), request.workspace, pk=pk
    )
    from rapport.outreach.compose import absolute

    url = absolute(f"/r/{code.code}")
    svg = segno.make(url, error="m").svg_inline(scale=4, dark="#1b2421")
    context = {"code": code, "url": url, "qr": svg, "workspace": request.workspace}
    return TemplateResponse(request, "advocacy/code_card.html", context)


# -- the desk ------------------------------------------------------------------


@work_required
def desk(request):
    """One box for any code a client shows: a reward to redeem, or a referral
    code to record the newcomer with."""
    form = CodeForm(request.GET or None)
    context = {"form": form, "nav": "desk"}
    if form.is_valid():
        typed = form.cleaned_data["code"]
        reward = rewards.find_reward(request.workspace, typed)
        code = None if reward else actions.live_code(typed, request.workspace)
        context.update(
            reward=reward,
            code=code,
            today=request.workspace.today(),
            lead_form=DeskLeadForm(business=request.workspace.name) if code else None,
            missing=not reward and not code,
        )
    return TemplateResponse(request, "advocacy/desk.html", context)


@work_required
@require_POST
def redeem(request, pk):
    reward = get_in_workspace(Reward.objects.select_related("contact"), request.workspace, pk=pk)
    result = rewards.redeem(reward, by=request.user, on=request.workspace.today())
    if result.ok:
        messages.success(request, result.message)
    else:
        messages.error(request, result.message)
    return redirect(f"/desk/?code={reward.code}")


@work_required
@require_POST
def desk_lead(request, pk):
    code = get_in_workspace(
        ReferralCode.objects.live().select_related("contact", "workspace"), request.workspace, pk=pk
    )
    form = DeskLeadForm(request.POST, business=request.workspace.name)
    if not form.is_valid():
        context = {"form": CodeForm(initial={"code": code.code}), "code": code, "lead_form": form}
        return TemplateResponse(request, "advocacy/desk.html", context, status=422)
    try:
        referral = actions.record_lead(
            code,
            **form.person(),
            on=request.workspace.today(),
            how=Referral.How.CODE,
            by=request.user,
        )
    except actions.Refused as refused:
        messages.error(request, str(refused))
        return redirect(f"/desk/?code={code.code}")
    issued = [r for r in referral.rewards.all() if r.role == Reward.Role.FRIEND]
    extra = f" Their reward: {issued[0].wording}, code {issued[0].display}." if issued else ""
    messages.success(
        request, f"{referral.referred.name} recorded, referred by {code.contact.name}.{extra}"
    )
    return redirect("clients:detail", pk=referral.referred_id)


# -- rewards and the profile -----------------------------------------------------


def _rules_context(request, program_form=None, rule_form=None, refused=None):
    workspace = request.workspace
    program = ReferralProgram.for_workspace(workspace)
    return {
        "program": program,
        "program_form": program_form or ProgramForm(instance=program),
        "rule_form": rule_form or RewardRuleForm(),
        "refused": refused or [],
        "rules": RewardRule.objects.in_workspace(workspace).annotate(n=Count("issued")),
        "profiles": [(p, profiles.DESCRIPTIONS[p]) for p in ReferralProgram.Profile.values],
        "not_legal_advice": profiles.NOT_LEGAL_ADVICE,
        "section": "referrals",
        "nav": "settings",
    }


@configure_required
def program_settings(request):
    if request.method == "POST":
        if not request.membership.is_owner:
            return _back(request, "/settings/referrals/", error="Only an owner can change this.")
        program = ReferralProgram.for_workspace(request.workspace)
        old_profile = program.profile
        form = ProgramForm(request.POST, instance=program)
        if not form.is_valid():
            return TemplateResponse(
                request, "advocacy/settings.html", _rules_context(request, form), status=422
            )
        program = form.save(commit=False)
        paused = rewards.set_profile(program, form.cleaned_data["profile"])
        note = f" {len(paused)} rule(s) paused: the profile forbids them." if paused else ""
        if program.profile != old_profile or paused:
            note = f" Profile: {program.get_profile_display()}.{note}"
        return _back(request, "/settings/referrals/", f"Saved.{note}")
    return TemplateResponse(request, "advocacy/settings.html", _rules_context(request))


@configure_required
def rule_edit(request, pk=None):
    workspace = request.workspace
    rule = get_in_workspace(RewardRule, workspace, pk=pk) if pk else RewardRule(workspace=workspace)
    form = RewardRuleForm(request.POST or None, instance=rule)
    if request.method == "POST" and form.is_valid():
        try:
            rewards.save_rule(form.instance)
        except rewards.RuleRefused as refused:
            for field, reason in refused.reasons:
                form.add_error(field if field in form.fields else None, reason)
            context = _rules_context(request, rule_form=form, refused=refused.reasons)
            return TemplateResponse(request, "advocacy/settings.html", context, status=422)
        return _back(request, "/settings/referrals/", f"Reward rule “{rule.name}” saved.")
    if request.method == "POST":
        context = _rules_context(request, rule_form=form)
        return TemplateResponse(request, "advocacy/settings.html", context, status=422)
    context = {"form": form, "rule": rule, "section": "referrals", "nav": "settings"}
    return TemplateResponse(request, "advocacy/rule.html", context)


# -- thank-yous ------------------------------------------------------------------


@work_required
def thank_yous(request):
    workspace = request.workspace
    show_done = request.GET.get("done") == "1"
    base = ThankYou.objects.in_workspace(workspace).select_related("contact", "email")
    rows = base.done().order_by("-done_at", "-pk")[:100] if show_done else base.open()[:300]
    context = {"rows": rows, "show_done": show_done, "today": workspace.today(), "nav": "thanks"}
    return TemplateResponse(request, "advocacy/thank_yous.html", context)


@work_required
def thank_you_cards(request):
    """The printable list of cards to write: name, postal address, a message."""
    cards = (
        ThankYou.objects.in_workspace(request.workspace)
        .open()
        .filter(kind=ThankYou.Kind.CARD)
        .select_related("contact")
    )
    context = {"cards": cards, "today": request.workspace.today(), "workspace": request.workspace}
    return TemplateResponse(request, "advocacy/cards_print.html", context)


@work_required
@require_POST
def card_sent(request, pk):
    thank_you = get_in_workspace(
        ThankYou.objects.select_related("contact__workspace"), request.workspace, pk=pk
    )
    done = actions.mark_card_sent(thank_you, by=request.user, on=request.workspace.today())
    message = f"Card to {thank_you.contact.first_name} marked sent." if done else "Already done."
    return _back(request, "/thank-yous/", message)


@work_required
def thank_you_email(request, pk):
    thank_you = get_in_workspace(
        ThankYou.objects.select_related("contact__workspace"), request.workspace, pk=pk
    )
    contact = thank_you.contact
    initial = {
        "subject": f"Thank you, {contact.first_name}",
        "body": thank_you.message + f"\n\n{request.user.first_name or request.workspace.name}",
    }
    form = ThankYouEmailForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            actions.send_thank_you_email(
                thank_you,
                subject=form.cleaned_data["subject"],
                body=form.cleaned_data["body"],
                by=request.user,
            )
        except actions.Refused as refused:
            form.add_error(None, str(refused))
        else:
            return _back(
                request, "/thank-yous/", f"Thank-you email to {contact.first_name} queued."
            )
    context = {"form": form, "thank_you": thank_you, "nav": "thanks"}
    status = 422 if form.errors else 200
    return TemplateResponse(request, "advocacy/thank_you_email.html", context, status=status)


@work_required
@require_POST
def thank_you_kind(request, pk):
    thank_you = get_in_workspace(ThankYou, request.workspace, pk=pk)
    form = ThankYouKindForm(request.POST)
    if form.is_valid() and not thank_you.done_at:
        ThankYou.objects.filter(pk=thank_you.pk).update(kind=form.cleaned_data["kind"])
    return _back(request, "/thank-yous/")


# -- give to get -------------------------------------------------------------------


@work_required
def gives(request):
    workspace = request.workspace
    ledger = ReferralGiven.objects.in_workspace(workspace).select_related("contact", "created_by")
    outcome = request.GET.get("outcome")
    if outcome:
        ledger = ledger.filter(outcome=outcome)
    candidates = facts.give_candidates(workspace, workspace.today())[:20]
    names = Contact.objects.in_workspace(workspace).in_bulk([c.contact_id for c in candidates])
    context = {
        "ledger": ledger[:500],
        "outcome": outcome,
        "outcomes": GiveOutcomeForm.base_fields["outcome"].choices,
        "candidates": [(c, names.get(c.contact_id)) for c in candidates],
        "nav": "referrals",
    }
    return TemplateResponse(request, "advocacy/gives.html", context)


@work_required
@require_POST
def give_outcome(request, pk):
    given = get_in_workspace(
        ReferralGiven.objects.select_related("contact__workspace"), request.workspace, pk=pk
    )
    form = GiveOutcomeForm(request.POST)
    if form.is_valid():
        actions.set_give_outcome(given, form.cleaned_data["outcome"], on=request.workspace.today())
    return _back(request, "/gives/", "Outcome recorded.")


# -- merges ------------------------------------------------------------------------


@work_required
def merges(request):
    workspace = request.workspace
    suggestions = (
        MergeSuggestion.objects.in_workspace(workspace)
        .filter(status=MergeSuggestion.Status.OPEN)
        .select_related("contact", "candidate")[:200]
    )
    records = ContactMerge.objects.in_workspace(workspace).select_related("kept", "merged_by")[:50]
    context = {"suggestions": suggestions, "records": records, "nav": "contacts"}
    return TemplateResponse(request, "advocacy/merges.html", context)


@work_required
@require_POST
def merge(request, pk):
    suggestion = get_in_workspace(
        MergeSuggestion.objects.select_related("contact", "candidate"), request.workspace, pk=pk
    )
    # The older record is kept: it has the history, and an imported id.
    kept, merged = suggestion.candidate, suggestion.contact
    if request.POST.get("keep") == str(merged.pk):
        kept, merged = merged, kept
    try:
        record = merge_contacts(kept, merged, by=request.user)
    except MergeRefused as refused:
        return _back(request, "/merges/", error=str(refused))
    messages.success(
        request, f"{record.merged_name} merged into {kept.name}. You can undo it for 30 days."
    )
    return redirect("advocacy:merge_record", pk=record.pk)


@work_required
@require_POST
def dismiss_merge(request, pk):
    suggestion = get_in_workspace(MergeSuggestion, request.workspace, pk=pk)
    MergeSuggestion.objects.filter(pk=suggestion.pk).update(status=MergeSuggestion.Status.DISMISSED)
    return _back(request, "/merges/", "Kept apart.")


@work_required
def merge_record(request, pk):
    record = get_in_workspace(
        ContactMerge.objects.select_related("kept", "merged_by", "undone_by"),
        request.workspace,
        pk=pk,
    )
    moved = {label.split(".")[1]: len(pks) for label, pks in record.moved.items() if pks}
    context = {
        "record": record,
        "moved": moved,
        "can_undo": record.can_undo(),
        "nav": "contacts",
    }
    return TemplateResponse(request, "advocacy/merge_record.html", context)


@work_required
@require_POST
def undo(request, pk):
    record = get_in_workspace(ContactMerge, request.workspace, pk=pk)
    try:
        restored = undo_merge(record, by=request.user)
    except MergeRefused as refused:
        return _back(request, f"/merges/{pk}/", error=str(refused))
    messages.success(request, f"Undone: {restored.name} is a contact of their own again.")
    return redirect("clients:detail", pk=restored.pk)
