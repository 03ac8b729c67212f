"""The default script library and the merge-field renderer.

Scripts are the words for a situation. Each workspace may rewrite any of
them (`Script` rows); a workspace without its own version uses the default
below. Merge fields are `{first_name}` style: plain enough for anyone to
edit, and unlike a template language they cannot reach into objects.
"""

import re
from dataclasses import dataclass

MERGE_FIELD = re.compile(r"\{(\w+)\}")

MERGE_FIELDS = {
    "first_name": "the contact's first name",
    "name": "the contact's full name",
    "business": "your workspace's name",
    "me": "the first name of the person speaking",
    "moment": "what happened, e.g. 'you told us the crown feels perfect'",
    "moment_date": "the day it happened",
    "referred_name": "the person they referred",
    "referred_by": "who referred them (for a first call to a referred person)",
    "issue": "the open problem, in a few words",
    "permission_date": "the date they said you may ask",
    "last_visit": "the date of their last purchase or visit",
    "usual_interval": "how often they used to come, e.g. 'every 6 months'",
    "unsubscribe_note": "(email only) the line that explains how to stop these emails",
}


@dataclass(frozen=True)
class DefaultScript:
    key: str
    title: str
    body: str


DEFAULT_SCRIPTS = [
    DefaultScript(
        "upfront_contract",
        "Upfront contract",
        "{first_name}, thank you for choosing {business}. Our aim is to earn your trust "
        "over the coming months. Once we have — and only if you feel we have — may I ask "
        "whether you know someone who would benefit from working with us too, or whether "
        "you'd put a few words about us in writing? If now isn't the moment, just tell me "
        "when would suit you and I'll note the date.",
    ),
    DefaultScript(
        "upfront_after_moment",
        "Upfront contract, after a kind word",
        "Thank you, {first_name} — it meant a lot that {moment}. We're only at the start of "
        "working together, and my aim is to earn your trust. Once we have — and only if you "
        "feel we have — may I ask whether you know someone who could use us too, or whether "
        "you'd put a few words in writing? If it's too early, just tell me when would suit "
        "you and I'll note the date.",
    ),
    DefaultScript(
        "point_of_sale",
        "Point-of-sale ask",
        "{first_name}, I'm really glad you decided to go ahead. People usually come to us "
        "because someone they trust mentioned our name. Who else do you know who is "
        "wrestling with the same thing you were? I'd treat them just as carefully as we'll "
        "treat you.",
    ),
    DefaultScript(
        "moment_praise",
        "After praise",
        "Thank you, {first_name} — it means a lot that {moment}. Hearing that is why we do "
        "this work. Who else do you know who deserves the same experience? If there's "
        "someone, I'd be glad to look after them.",
    ),
    DefaultScript(
        "moment_testimonial",
        "After an unsolicited testimonial",
        "{first_name}, your kind words on {moment_date} made our week. Would you allow us to "
        "share them, with your name shown the way you prefer? And since you feel that way, "
        "is there anyone you know who might need the same help?",
    ),
    DefaultScript(
        "moment_referral",
        "After a referral",
        "{first_name}, thank you for sending {referred_name} our way — we'll take great care "
        "of them and keep you posted. While we're talking: who else comes to mind who could "
        "use us? It's easier to give me all the names now than to remember them one by one "
        "later.",
    ),
    DefaultScript(
        "moment_saved_us",
        "After \u201cyou saved us\u201d",
        "{first_name}, I'm so glad we could be there when it mattered. Situations like yours "
        "are exactly where we can help most. Do you know anyone facing something similar — "
        "a friend, a colleague, a peer in your industry — who might need someone in their "
        "corner?",
    ),
    DefaultScript(
        "moment_partner_association",
        "When a partner joins an association",
        "Congratulations on joining, {first_name} — that's a great network to be part of. "
        "As you get to know the other members, would you be comfortable introducing us to "
        "one or two who could use what we do? I'm happy to return the favour with my own "
        "contacts.",
    ),
    DefaultScript(
        "moment_project_completed",
        "Project completed",
        "{first_name}, now that the project is done I'd love to hear how it went for you. "
        "What worked, and what could we have done better? If you're pleased with the "
        "result, would you put a few words in writing for others considering us — and is "
        "there anyone who could benefit from the same kind of project?",
    ),
    DefaultScript(
        "ask_testimonial",
        "Testimonial request",
        "{first_name}, would you be willing to share a few words about your experience with "
        "{business}? It takes two minutes, you choose how your name appears, and nothing is "
        "published without your consent.",
    ),
    DefaultScript(
        "ask_review",
        "Review request",
        "Hello {first_name},\n\nIf you have a minute, would you tell others what you think of "
        "{business}? Whatever you write — good or bad — helps people choose, and helps us do "
        "better.\n\nThank you,\n{me}",
    ),
    DefaultScript(
        "ask_more_names",
        "Ask for the other names",
        "Thank you again for introducing {referred_name}, {first_name}. People rarely know "
        "just one person who could use us. Who else comes to mind — at work, among friends "
        "or family? Give me all of them now and I'll take care of each one personally.",
    ),
    DefaultScript(
        "follow_up_permission",
        "Permission has come due",
        "{first_name}, when we last spoke you said it would be fine to come back to you "
        "after {permission_date}. Has our work lived up to what you hoped? If it has, who "
        "do you know who should hear about us — or would you put a few words in writing?",
    ),
    DefaultScript(
        "reactivation",
        "Reactivation (facilitative questions)",
        "Hello {first_name}, it's {me} from {business}. We haven't seen you since "
        "{last_visit}, and you used to come {usual_interval}, so I wanted to check in. What "
        "has stopped you from coming back recently? What would you need to see from us to "
        "feel comfortable coming back?",
    ),
    DefaultScript(
        "feedback",
        "Feedback (facilitative questions)",
        "{first_name}, how did you experience our service? How could it have been improved? "
        "And honestly — what would you need to see from us to be willing to pass our name "
        "on?",
    ),
    DefaultScript(
        "recall",
        "Routine visit due",
        "Hello {first_name}, it's {me} from {business}. Your regular visit is due — it's "
        "been since {last_visit}. Would you like me to book you in? What day and time suit "
        "you best?",
    ),
    DefaultScript(
        "apology",
        "Apology for an open issue",
        "{first_name}, I'm sorry. You told us: \u201c{issue}\u201d. That isn't the experience "
        "we want for you, and I take responsibility for putting it right. Here is what we'll "
        "do, and by when. Is there anything else about it that's bothering you?",
    ),
    DefaultScript(
        "recovery_fix",
        "Planning the fix",
        "Decide who puts right \u201c{issue}\u201d and by which date, then tell {first_name} "
        "both: \u201c{first_name}, {me} here. I have asked our best person to deal with this, "
        "and it will be sorted by then. I'll call you myself once it is done.\u201d",
    ),
    DefaultScript(
        "recovery_confirm",
        "Is it fixed for you?",
        "{first_name}, it's {me} from {business}. We have put right what went wrong "
        "(\u201c{issue}\u201d). Is it fixed for you now? If anything still isn't right, "
        "tell me and I'll deal with it personally.",
    ),
    DefaultScript(
        "thank_you",
        "Thank-you",
        "{first_name}, thank you so much for {moment}. It means a great deal to us, and it "
        "is the best compliment a business like ours can receive.",
    ),
    DefaultScript(
        "acknowledge",
        "Thanks for a kind word (no ask)",
        "{first_name}, thank you — it means a great deal that {moment}. I just wanted you to "
        "know it was heard, and that it made our day.",
    ),
    DefaultScript(
        "first_contact",
        "First call to a referred person",
        "Hello, it's {me} from {business}. {referred_by} suggested we speak — they thought we "
        "might be able to help you. Is this a good moment for a few questions about what "
        "you're looking for? If not, when would suit you?",
    ),
    DefaultScript(
        "introduction_nudge",
        "Nudge: an introduction waiting",
        "{first_name}, it's {me} from {business}. You kindly offered to introduce us to "
        "{referred_name} — thank you again. If it would help, I can send you a short note to "
        "forward, or you could simply give them my number. Whatever is easiest for you.",
    ),
    DefaultScript(
        "tell_referrer",
        "Tell the referrer: their friend became a client",
        "{first_name}, it's {me} from {business}. I wanted you to know that {referred_name} "
        "is now working with us — thank you for putting us in touch. We'll look after them "
        "with the same care you've had.",
    ),
    DefaultScript(
        "give",
        "Give first: an introduction",
        "Before asking {first_name} for anything, give: who do you know who could help their "
        "business — a client who needs what they sell, a supplier, a useful contact? Then: "
        "“{first_name}, I was thinking of you — I'd like to introduce you to someone I "
        "trust who could help with what you mentioned. Would that be useful?” Log it as "
        "a referral given.",
    ),
    DefaultScript(
        "touch",
        "Keeping in touch",
        "{first_name}, it's {me} from {business} — no agenda, I just wanted to see how "
        "things are going since {last_visit}. Is there anything we can help with?",
    ),
    DefaultScript(
        "earn_first",
        "Earn the right first",
        "Not yet time to ask {first_name}. First: rate the relationship, send a personal "
        "thank-you note, share something useful, or introduce them to someone who could "
        "help their own business. Ask once you can honestly say what you've earned.",
    ),
]

DEFAULTS_BY_KEY = {script.key: script for script in DEFAULT_SCRIPTS}


def render(body: str, fields: dict[str, str]) -> str:
    """Fill merge fields; an unknown or empty field stays visible as {field}."""

    def fill(match: re.Match) -> str:
        value = fields.get(match.group(1))
        return str(value) if value not in (None, "") else match.group(0)

    return MERGE_FIELD.sub(fill, body)


def unknown_fields(body: str) -> list[str]:
    return sorted({name for name in MERGE_FIELD.findall(body) if name not in MERGE_FIELDS})


def bodies_for(workspace) -> dict[str, str]:
    """Every script key → the workspace's wording (its own, else the default)."""
    from rapport.agenda.models import Script

    bodies = {script.key: script.body for script in DEFAULT_SCRIPTS}
    bodies.update(Script.objects.filter(workspace=workspace).values_list("key", "body"))
    return bodies
