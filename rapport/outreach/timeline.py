"""The asks on a contact's timeline (registered with clients.hooks)."""

from rapport.clients.timeline import Entry
from rapport.outreach.models import Ask, AskKind, QuestionnaireAnswer

# How each kind of ask reads on the timeline.
ASKED = {
    AskKind.REFERRAL: "Asked for a referral",
    AskKind.TESTIMONIAL: "Asked for a testimonial",
    AskKind.FEEDBACK: "Asked for feedback",
    AskKind.REACTIVATION: "Asked them back (win-back)",
    AskKind.PERMISSION: "Asked when we may ask (upfront contract)",
    AskKind.RECOVERY: "Asked whether it is fixed",
}


def asks(contact) -> list[Entry]:
    answers = dict(QuestionnaireAnswer.objects.filter(contact=contact).values_list("ask_id", "nps"))
    entries = []
    for a in Ask.objects.filter(contact=contact):
        outcome = a.get_outcome_display()
        if a.pk in answers:
            outcome = f"answered {answers[a.pk]}/10"
        entries.append(
            Entry(
                a.asked_on,
                "ask",
                f"{ASKED.get(a.kind, 'Asked')} ({a.get_channel_display().lower()})",
                a.note,
                (outcome,),
                a.pk,
            )
        )
    return entries
