"""The rule layer of the text reading: phrase patterns and VADER, sentence by sentence.

A moment is a sentence in a note or email that makes it a good time to ask a client for a
referral or a testimonial. A complaint must never lead to an ask, so it is detected with the
same care and reported next to the moments.

This layer runs offline, on CPU, on every activity saved or
imported, gives the same answer every time, and can show *why* it fired (the evidence
sentence). It combines VADER (a maintained, lexicon-based sentiment model) with per-kind
phrase patterns, because neither is enough alone: VADER scores "you saved our launch" and
"saved the file" the same, and patterns cannot weigh tone they were not written for.

Labelling rules the patterns and the evaluation set follow (see docs/moment-detection.md):

* Text is read sentence by sentence; a note carries every kind any of its sentences carries.
* A complaint in a sentence suppresses praise in that same sentence ("great team but the
  billing is a mess" is a complaint, not praise); facts such as a referral still stand.
* Questions, hypotheticals and hedged intentions ("might recommend us") carry no moment.
* Our own staff's notes carry nothing unless they report what the client said or did.

The learned layer (``model.py``) reads beside it; ``read.py`` combines the two.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import TYPE_CHECKING

from rapport.agenda.reading.kinds import (
    COMPLAINT,
    PARTNER_ASSOCIATION,
    PRAISE,
    REFERRAL,
    SAVED_US,
    TESTIMONIAL,
    TEXT_KINDS,
)

if TYPE_CHECKING:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

EVIDENCE_MAX_CHARS = 120
# Pasted email threads or transcripts can be huge; the first pages are where the client's own
# words are, and the cap keeps the worst case bounded for a hook that runs on every save.
MAX_INPUT_CHARS = 20_000

_FLAGS = re.IGNORECASE


def _rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, _FLAGS)


def _words(*alternatives: str) -> str:
    return r"(?:" + "|".join(alternatives) + r")"


# --- sentence and clause splitting -------------------------------------------------------

# Sentence ends: terminal punctuation before whitespace, or a line break that starts a new
# item (bullet, capital, digit). Plain wrapped lines in emails continue in lower case and are
# kept together. Titles such as "Mr." must not end a sentence.
_SENTENCE_BREAK = re.compile(
    r"(?<!\b[A-Z])(?<!\b(?:Mr|Ms|Dr|St|vs))(?<!\bMrs|\bi\.e|\be\.g|\bInc|\bLtd)"
    r"[.!?]+[\"'”’)\]]*(?=\s)|\s*\n+\s*(?=[-•*\u2022A-Z0-9\"“])|\n\s*\n"
)
# Contrast words open a new clause: sentiment and negation are judged per clause, so that
# "lovely staff, but I waited forty minutes" is not averaged into a neutral sentence.
_CLAUSE_BREAK = _rx(
    r"\s*[;—–]\s*|,?\s+\b(?=(?:but|however|though|although|except|whereas|shame|pity)\b)"
)
_QUESTION_START = _rx(
    r"^\W*(?:(?:so|and|but|hi|hey|also|quick question)\W+)?"
    r"(?:can|could|would|will|do|does|did|is|are|should|shall|have|has|what|which|who|where|"
    r"when|how)\s+(?:you|u|anyone|someone|somebody|we|they|i|there|it|your)\b"
)
# Indirect questions in reported speech ("he asked if we could refer him to...").
_INDIRECT_QUESTION = _rx(
    r"\b(?:asked|asking|asks|wondered|wondering)\s+(?:\w+\s+)?(?:if|whether|how|what|who|about)\b"
)
_CONDITIONAL_START = _rx(
    r"^\W*(?:even\s+)?(?:if|unless|in case|what if|suppose|supposing|assuming)\b"
)
_CONDITIONAL_ANYWHERE = _rx(r"\b(?:if|unless|whether|in case)\b")
# Hedged or merely planned acts ("might recommend us", "plan to ask for a review") are not
# events yet. "may" is matched in lower case only so the month does not count.
_HEDGE = re.compile(
    r"\b(?:(?i:might|maybe|perhaps|possibly|hopefully|hoping to|hope to|thinking (?:about|of)|"
    r"considering|plan(?:s|ning|ned)? to|going to ask|should|would it|"
    r"ask(?:ed|ing)? (?:\w+ )?(?:for|to)|request(?:ed|ing)?|remind(?:er|ed)?|template)|may)\b"
)
# "If it wasn't for you we'd have..." is a thank-you, not a hypothetical.
_COUNTERFACTUAL_CREDIT = _rx(
    r"\bif\s+it\s+(?:was|were|had)(?:n't|\s+not)\s+(?:been\s+)?(?:for|thanks to)\s+(?:you|your)\b"
)


@dataclass(frozen=True, slots=True)
class Sentence:
    text: str  # apostrophes normalised, same length as the original slice
    original: str
    start: int  # offset in the (possibly truncated) input, so evidence stays a substring
    clauses: tuple[tuple[int, int], ...]  # spans within `text`
    is_question: bool
    is_conditional: bool  # sentence opens with "if"/"unless": nothing in it is a fact
    has_condition: bool  # an "if"/"whether" anywhere: enough to doubt a positive moment
    is_hedged: bool

    def clause_at(self, position: int) -> tuple[int, int]:
        for begin, end in self.clauses:
            if begin <= position < end:
                return begin, end
        return 0, len(self.text)


_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "`": "'"})


def split_sentences(text: str) -> list[Sentence]:
    sentences: list[Sentence] = []
    normalised = text.translate(_APOSTROPHES)  # 1:1 mapping keeps offsets valid
    position = 0
    for match in [*_SENTENCE_BREAK.finditer(normalised), None]:
        end = match.end() if match else len(normalised)
        chunk = normalised[position:end]
        stripped = chunk.strip()
        if stripped:
            start = position + chunk.index(stripped)
            sentences.append(_make_sentence(stripped, text[start : start + len(stripped)], start))
        position = end
    return sentences


def _make_sentence(text: str, original: str, start: int) -> Sentence:
    clauses: list[tuple[int, int]] = []
    begin = 0
    for match in _CLAUSE_BREAK.finditer(text):
        if match.start() > begin:
            clauses.append((begin, match.start()))
        begin = match.end()
    if begin < len(text):
        clauses.append((begin, len(text)))
    counterfactual = bool(_COUNTERFACTUAL_CREDIT.search(text))
    return Sentence(
        text=text,
        original=original,
        start=start,
        clauses=tuple(clauses) or ((0, len(text)),),
        is_question=text.rstrip("\"') ").endswith("?")
        or bool(_QUESTION_START.search(text) or _INDIRECT_QUESTION.search(text)),
        is_conditional=bool(_CONDITIONAL_START.search(text)) and not counterfactual,
        has_condition=bool(_CONDITIONAL_ANYWHERE.search(text)) and not counterfactual,
        is_hedged=bool(_HEDGE.search(text)),
    )


# --- sentiment ---------------------------------------------------------------------------


@cache
def _analyzer() -> SentimentIntensityAnalyzer:
    # Loaded lazily and once: importing this module (e.g. for MOMENT_KINDS) should not pay
    # for reading VADER's lexicon, and every later call reuses the same instance.
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


@lru_cache(maxsize=512)
def compound(clause: str) -> float:
    # Cached (bounded: this runs in long-lived workers) because one clause is often scored
    # for both praise and complaint.
    return float(_analyzer().polarity_scores(clause)["compound"])


# --- per-kind patterns -------------------------------------------------------------------

# Phrases whose negation word is part of a positive idiom; masked before negation checks so
# "couldn't be happier" is praise and "no complaints" is not a complaint.
_POSITIVE_IDIOMS = _rx(
    r"\b(?:could(?:n't| not) be (?:happier|more pleased|more grateful)|"
    r"can(?:'t|not) (?:thank|praise|recommend) (?:\w+ ){0,2}(?:enough|highly enough)|"
    r"could(?:n't| not) stop (?:thanking|praising|smiling|talking about)|"
    r"can(?:'t|not) fault|could(?:n't| not) (?:fault|ask for (?:more|better|a better))|"
    r"nothing but (?:praise|good|great)|"
    r"never (?:felt|been) (?:so|more) (?:well )?(?:looked after|welcome|cared for|at ease)|"
    r"(?:no|never (?:had|been) (?:a|any)|without (?:a|any)|not (?:a|one|a single)|zero)\s+"
    r"(?:\w+\s+)?(?:complaints?|problems?|issues?|hiccups?|fuss|hassles?|tears|pain|"
    r"surprises|mistakes?|errors?|delays?))"
)
# Idioms above that are praise in their own right (the rest only mean "nothing went wrong").
_PRAISE_IDIOM = _rx(
    r"happier|pleased|grateful|thank|praise|recommend|fault|stop|better|more|"
    r"nothing but|looked after|welcome|cared|ease"
)
# Staff wording and condolences that VADER reads as negative but that complain about nothing.
_NOT_A_GRIEVANCE = _rx(
    r"\b(?:sorry (?:to hear|for your loss)|condolences|get well soon|"
    r"(?:fixed|corrected|resolved|sorted|repaired|replaced|refunded)\s+(?:the\s+|an?\s+|his\s+|"
    r"her\s+|their\s+)?(?:\w+\s+)?(?:errors?|mistakes?|issues?|problems?|broken|missing|"
    r"damaged|cracked|wrong)\w*)"
)

_GOOD = _words(
    r"fantastic",
    r"brilliant",
    r"amazing",
    r"excellent",
    r"outstanding",
    r"superb",
    r"wonderful",
    r"great",
    r"lovely",
    r"fabulous",
    r"terrific",
    r"incredible",
    r"exceptional",
    r"first[- ]class",
    r"top[- ]notch",
    r"perfect",
    r"stunning",
    r"gorgeous",
    r"impressive",
    r"awesome",
    r"phenomenal",
    r"marvell?ous",
)
# Adjectives that praise a person or result when said of it, but are everyday words in front
# of a noun ("patient care", "professional services", "clear plan").
_GOOD_PREDICATE = _words(
    _GOOD,
    r"helpful",
    r"professional",
    r"thorough",
    r"patient",
    r"gentle",
    r"kind",
    r"friendly",
    r"responsive",
    r"efficient",
    r"spot on",
    r"stars?",
    r"gems?",
    r"legends?",
    r"heroes",
    r"hero",
    r"the best",
    r"a delight",
    r"a pleasure",
    r"a joy",
    r"a godsend",
    r"natural",
    r"beautiful",
    r"reassuring",
    r"brilliant",
)
_OUR_WORK = _words(
    r"job",
    r"work",
    r"service",
    r"team",
    r"staff",
    r"crew",
    r"experience",
    r"advice",
    r"results?",
    r"session",
    r"workshop",
    r"turnaround",
    r"support",
    r"communication",
    r"care",
    r"treatment",
    r"designs?",
    r"website",
    r"site",
    r"campaign",
    r"report",
    r"strategy",
    r"deck",
    r"delivery",
    r"deliveries",
    r"products?",
    r"quality",
    r"explanation",
    r"help",
    r"people",
    r"guys",
    r"folks",
    r"lot",
    r"creatives?",
    r"pages?",
    r"logo",
    r"brand",
    r"rebrand",
    r"crown",
    r"implant",
    r"veneers?",
    r"smile",
    r"whitening",
    r"system",
    r"software",
    r"platform",
    r"app",
    r"setup",
    r"process",
)
_BUSINESS = _words(
    r"service",
    r"supplier",
    r"accountants?",
    r"dentists?",
    r"lawyers?",
    r"solicitors?",
    r"firm",
    r"agency",
    r"consultants?",
    r"team",
    r"hygienists?",
    r"advisers?",
    r"advisors?",
    r"vendor",
    r"experience",
    r"explanation",
    r"investment",
    r"decision",
    r"results?",
)
# Superlatives that are not praise although VADER has no negative score for them.
_NOT_PRAISE_SUPERLATIVE = _rx(
    r"\bmost\s+(?:expensive|complicated|confusing|disorgani[sz]ed|overpriced|awkward|"
    r"time-consuming|chaotic|slow|annoying|stressful|painful|difficult|frustrating)\b"
)

_PRAISE_PATTERNS: tuple[re.Pattern[str], ...] = (
    # Superlatives about the business: "best dentist she's ever had", "best in the region".
    _rx(
        r"\b(?:the\s+)?(?:best|finest|clearest|most \w+)\s+(?:\w+\s+){0,3}?(?:(?:i|we|she|he|"
        r"they)(?:'ve|'d| have| has|'s)?\s+(?:ever\s+)?(?:had|seen|used|worked with|been to|"
        r"spent|made)|in (?:town|the (?:region|area|city|country|business|industry|county))|"
        r"ever|all year|in (?:years|ages|a long time))\b"
    ),
    _rx(r"\b(?:best|finest)\s+" + _BUSINESS + r"\b"),
    _rx(
        r"\b(?:you|you guys|you lot|you all|y'all|(?:your|our)\s+[\w-]+|the\s+(?:team|staff|crew|"
        r"nurse|hygienist|dentist|partners?|designers?|consultants?|lawyers?|accountants?)|"
        r"(?:the|our|your)\s+(?:new\s+)?(?:[\w-]+\s+)?" + _OUR_WORK + r"|"
        r"(?:the|our|your)\s+new\s+(?:[\w-]+\s+)?[\w-]+)"
        r"(?:\s+|(?='))(?:were|are|was|is|have been|has been|'re|'ve been|'s|looks?|looked)\s+"
        r"(?:\w+\s+){0,2}?" + _GOOD_PREDICATE + r"\b"
    ),
    _rx(r"(?:^|\W)" + _GOOD + r"\s+(?:\w+\s+)?" + _OUR_WORK + r"\b"),
    _rx(r"(?:^|\W)" + _GOOD_PREDICATE + r"\s+as\s+(?:always|ever|usual)\b"),
    _rx(
        r"\b(?:really|very|so|super|extremely|absolutely|incredibly|more than)?\s*(?:happy|"
        r"pleased|delighted|thrilled|impressed|satisfied|chuffed|made up)\s+(?!to\b)"
        r"(?:\w+\s+){0,2}?with\b"
    ),
    # "delighted to announce/help" is our own sales talk, not the client's verdict.
    _rx(
        r"\b(?:was|were|is|are|felt|feels?|'s|'re)\s+(?:\w+\s+)?(?:delighted|thrilled|"
        r"impressed|blown away|over the moon|grateful)\b(?!\s+to\b)"
    ),
    _rx(r"\b(?:blown away|over the moon)\b"),
    _rx(
        r"(?<!'d )(?<!would )\b(?:love|loved|loves|adore|adored|adores)\s+(?:the|your|it|them|"
        r"working|how|what|our|her|his|their)\b"
    ),
    # Thanks count only with weight or for the work: "thanks for your email" is a sign-off.
    _rx(
        r"\bthank(?:s| you|ed (?:us|me|him|her|them)|ing (?:us|me|the \w+))\s+(?:\w+\s+){0,2}?"
        r"(?:so much|very much|a million|a lot|enough)\b"
    ),
    _rx(
        r"\bthank(?:s| you|ed (?:us|me|him|her|them)|ing (?:us|me|the \w+))\s+(?:\w+\s+){0,2}?"
        r"for\s+(?:all\s+)?(?:the|your|such|sorting|getting|making|fixing|helping|being|doing|"
        r"everything|how)\b(?!\s+(?:email|e-mail|message|call|reply|note|time|invoice|"
        r"documents?|letter|update)\b)"
    ),
    _rx(r"\bpraised\b|\bspot on\b|\bexactly what (?:we|they|i|she|he) (?:needed|wanted)\b"),
    _rx(
        r"\b(?:looks?|feels?|felt|sounds?|looking|feeling)\s+(?:\w+\s+)?(?:perfect|amazing|"
        r"great|fantastic|natural|stunning|brilliant|incredible|wonderful|lovely|beautiful|"
        r"so much better)\b"
    ),
    _rx(
        r"\b(?:pleasure|joy|delight)\s+(?:to work with|working with|from start to finish)\b|"
        r"\bwonderful experience\b"
    ),
    _rx(r"\b(?:knows?|know) (?:her|his|their|your) stuff\b|\bwell looked after\b"),
    _POSITIVE_IDIOMS,
)
# A cue with a negator just before it ("wasn't great", "not impressed") is not praise.
_NEGATED_BEFORE = _rx(r"\b(?:not|no|never|hardly|barely|nothing|\w+n't|cannot)(?:\W+\w+){0,2}\W*$")
_NEGATOR_INSIDE = _rx(r"\b(?:not|never|\w+n't|cannot)\b")

# "We'd recommend a night guard" is our advice, so the object must be the business itself.
_RECOMMENDED_US = (
    r"(?:you|your\b|us\b|this (?:firm|practice|team|agency|company|place)|them\b|"
    r"[A-Z][\w'-]+(?: (?:&|and) co\b| [A-Z][\w'-]+)?)"
)
_REVIEW_KIND_NOT_PRAISE = (
    r"(?:performance|annual|quarterly|monthly|mid-year|year-end|code|contract|legal|file|case|"
    r"rent|salary|pay|price|policy|strategic|board|peer|design|document|technical|lease)"
)
_TESTIMONIAL_PATTERNS: tuple[re.Pattern[str], ...] = (
    re.compile(
        r"(?i:\b(?:i'd|i would|we'd|we would|would|i'll|i will|we will|happily|highly|"
        r"definitely|strongly|totally|thoroughly|wholeheartedly|gladly|already|always|can)\s+"
        r"(?:\w+\s+)?recommend(?:ed|ing|s)?)\s+" + _RECOMMENDED_US
    ),
    _rx(
        r"\b(?:highly|strongly|thoroughly) recommended\W*$|\brecommend(?:ed)?\s+(?:you|us)\s+to\s+"
        r"(?:anyone|everyone|anybody|everybody|all|any)\b"
    ),
    _rx(
        r"\b(?:left|leave|leaving|wrote|written|write|posted|post|gave|given|put|added|shared)\s+"
        r"(?:(?:us|you|me|them)\s+)?(?:a|an|their|her|his|my)\s+(?:(?!"
        + _REVIEW_KIND_NOT_PRAISE
        + r")[\w-]+\s+){0,2}?(?:review|rating|testimonial|recommendation|endorsement|write-up|"
        r"shout-?out)\b"
    ),
    _rx(
        r"\b(?:five|5|four|4)[- ]?stars?\s+(?:review|rating)\b|\b(?:review|rating)s?\s+(?:on|for "
        r"(?:us|you) on)\s+(?:google|yelp|trustpilot|facebook|linkedin|tripadvisor|checkatrade|"
        r"(?:our|your) (?:page|website|site|profile|listing))\b"
    ),
    _rx(
        r"\bquote me on (?:that|this|it)\b|\b(?:you|we) can quote me\b|\bput (?:it|that|this) on "
        r"your (?:website|site|brochure)\b|\b(?:good|kind|nice) words? (?:for|about) (?:us|you)\b"
    ),
    _rx(
        r"\b(?:feel free to|happy for (?:you|us) to|(?:you|we) (?:can|could|may)|can|could)\s+"
        r"use\s+(?:my|his|her|their)\s+(?:words|comments|name|review|quote|feedback|story|"
        r"photos?|testimonial)\b|\buse (?:it|them|this|that) (?:wherever|however you)\b"
    ),
    _rx(
        r"\b(?:record|recorded|film|filmed|write|wrote|written|give|gave|offered to|agreed to|"
        r"happy to|glad to|provided?)\s+(?:\w+\s+){0,3}?testimonial\b"
    ),
    _rx(
        r"\b(?:be|act as|use (?:me|my name) as)\s+(?:a|your)\s+reference\b|\bvouch(?:ed|es)? for\b|"
        r"\bendorsed\s+(?:us|you|me|our|your)\b"
    ),
    _rx(
        r"\b(?:tells?|telling|told)\s+(?:everyone|everybody|all (?:my|his|her|their) \w+)\b|"
        r"\bsing(?:s|ing)? (?:your|our) praises\b"
    ),
    _rx(
        r"\b(?:a little something|a few (?:lines|words)|something nice)\s+about\s+"
        r"(?:working with\s+)?(?:you|us)\b"
    ),
)

# People who could become a new client. Not "our team"/"the lead": those are the business.
_PERSON = _words(
    r"sister",
    r"brother",
    r"mother",
    r"mum",
    r"mom",
    r"father",
    r"dad",
    r"son",
    r"daughter",
    r"wife",
    r"husband",
    r"partner",
    r"friend",
    r"colleague",
    r"neighbou?r",
    r"cousin",
    r"aunt",
    r"uncle",
    r"niece",
    r"nephew",
    r"boss",
    r"manager",
    r"director",
    r"cfo",
    r"ceo",
    r"coo",
    r"founder",
    r"owner",
    r"contact",
    r"\w+-in-law",
    r"family",
    r"mate",
    r"kids",
    r"children",
    r"associate",
    r"peer",
    r"landlord",
    r"tenant",
    r"buddy",
    r"pal",
    r"flatmate",
    r"classmate",
)
_PERSON_PHRASE = (
    r"\b(?:my|his|her|their|a|an|one of (?:my|his|her|their)|some|two|three|a few|several|"
    r"a couple of)\s+(?:[\w'-]+\s+){0,2}?" + _PERSON + r"s?\b"
)
_REFERRAL_PATTERNS: tuple[re.Pattern[str], ...] = (
    # A third party who will get in touch: "my sister will call you".
    _rx(
        _PERSON_PHRASE + r"(?:\s+[\w,' -]{0,40}?)?\s+(?:will|'ll|is going to|are going to|"
        r"is gonna|wants? to|plans? to)\s+(?:give (?:you|us) a\s+)?(?:call|ring|phone|contact|"
        r"email|e-mail|message|get in touch|be in touch|reach out|book|come in|drop in|"
        r"pop in)\b"
    ),
    _rx(r"\b(?:they|he|she)'ll all (?:book|call|ring|come)\b"),
    _rx(
        r"\bexpect (?:a|their|his|her) (?:call|email|enquiry|message|ring)(?:\W*$| from (?:my|his|"
        r"her|their)\b)"
    ),
    # Internal hand-offs ("passed your details to our billing team") are not referrals.
    _rx(
        r"\b(?:gave|given|give|giving|passed|passing|pass|shared|sharing|share|forwarded|"
        r"forwarding|sent|sending|handed|handing)\s+(?:on\s+)?(?:your|our)\s+(?:\w+\s+)?"
        r"(?:number|name|details|card|contact|email|info|website|phone|link)\b(?!\s+(?:on\s+)?to\s+"
        r"(?:the\s+|our\s+)?(?:billing|accounts|finance|reception|front desk|team|lab|system|"
        r"crm|file)\b)"
    ),
    _rx(
        r"\b(?:told|tell|telling|mentioned|mention|mentioning)\s+(?:[\w'-]+\s+){0,6}?about\s+"
        r"(?:you|us|your (?:firm|practice|team|agency|company))\b(?!\s+(?:being|having|closing|"
        r"moving|not|changing|needing|wanting)\b)"
    ),
    _rx(r"\bmention(?:ed)?\s+(?:you|us)\s+to\b"),
    _rx(
        r"\bsent\s+(?:[\w'-]+\s+){1,3}?(?:your|our)\s+way\b|\bsent\s+(?:my|his|her|their)\s+"
        r"(?:whole\s+)?(?:[\w-]+\s+)?" + _PERSON + r"s?\s+to\s+(?:you|us)\b"
    ),
    _rx(r"\bbrought\s+(?:my|his|her|their)\s+(?:\w+\s+)?" + _PERSON + r"s?\s+(?:along|in|with)\b"),
    _rx(
        r"\breferred\s+(?!to\b)(?:[\w'&-]+\s+){1,4}?to\s+(?:us|you)\b|\breferred\s+(?:to\s+"
        r"(?:us|you)\s+)?by\b|\breferral\s+from\b"
    ),
    _rx(
        r"\b(?:came|come|coming)\s+(?:to us\s+)?(?:through|via|from|on)\s+(?:[\w'-]+\s+){0,3}?"
        r"(?:recommendation|referral)\b|\bon (?:the )?recommendation of\b"
    ),
    _rx(r"\brecommended\s+(?:you|us)\s+to\s+(?:my|his|her|our|their)\b"),
    _rx(
        r"\b(?:introduced|introduce|introducing|connect|connected|connecting)\s+(?:you|us)\s+"
        r"(?:to|with|around)\b|\bput (?:you|us) in touch with\b"
    ),
)

# Objects whose loss would have hurt; "saved the file/draft/$40" must not look like a rescue.
_RESCUED_THING = _words(
    r"day",
    r"company",
    r"business",
    r"firm",
    r"practice",
    r"deal",
    r"launch",
    r"project",
    r"account",
    r"contract",
    r"client",
    r"tooth",
    r"teeth",
    r"smile",
    r"bacon",
    r"skin",
    r"neck",
    r"life",
    r"lives",
    r"year",
    r"year-end",
    r"quarter",
    r"season",
    r"campaign",
    r"event",
    r"wedding",
    r"marriage",
    r"production",
    r"run",
    r"shipment",
    r"sale",
    r"bid",
    r"tender",
    r"merger",
    r"house",
    r"home",
    r"jobs?",
    r"reputation",
    r"christmas",
    r"bonus",
    r"audit",
    r"shop",
    r"restaurant",
    r"factory",
    r"line",
    r"holiday",
    r"trip",
    r"order",
)
# Prevention verbs need the credit to point at the business: "the strike stopped us
# shipping" is bad news, "your review stopped us signing" is a rescue.
_CREDIT = _rx(r"\b(?:you|your|thanks to|because of)\b")
_PREVENTED = _rx(
    r"\b(?:kept|stopped|prevented)\s+(?:us|me)\s+(?:from\s+)?\w+ing\b|\bkept\s+"
    r"(?:us|me)\s+(?:afloat|in business|alive|going)\b"
)
_SAVED_US_PATTERNS: tuple[re.Pattern[str], ...] = (
    _rx(
        r"\bsaved\s+(?:us|me|him|her|them)\b(?!\s+(?:a|an|about|around|over|some|hours|days|"
        r"weeks|time|money|lots|loads|plenty|tons|\d|[$£€]|the (?:trouble|hassle|bother)))"
    ),
    _rx(
        r"\bsaved\s+(?:our|my|his|her|their|the|that)\s+(?:whole\s+|entire\s+|\w+\s+)?"
        + _RESCUED_THING
        + r"\b"
    ),
    # "Without your signature we would not be able to file" is a request; the rescue is in
    # the past tense or in where the client would be now.
    _rx(
        r"\bwithout\s+(?:you|your|you guys)\b[^.]{0,60}?\b(?:would|'d|wouldn't|couldn't|could "
        r"not|would not)(?:\s+(?:have|'ve)|'ve|\s+be (?:nowhere|sunk|bust|finished|lost|in "
        r"(?:trouble|a mess)))\b|\b(?:would|'d|could|wouldn't|couldn't)(?:\s+(?:have|'ve)|'ve)\b"
        r"[^.]{0,60}?\bwithout\s+(?:you|your)\b|\b(?:where|what) (?:we|i)(?:'d| would) (?:be|"
        r"have done)\b[^.]{0,30}?\bwithout\s+(?:you|your)\b"
    ),
    _rx(
        r"\b(?:got|get|getting|pulled|dug|helped)\s+(?:us|me)\s+out\s+of\b|\bbail(?:ed|ing)?\s+"
        r"(?:us|me)\s+out\b|\bpulled\s+(?:us|me)\s+through\b"
    ),
    _rx(
        r"\b(?:came|come|coming)\s+to\s+(?:the|our|my)\s+rescue\b|\brescued?\s+(?:us|me|our|my|"
        r"the|his|her|their)\b|\blife-?\s?savers?\b"
    ),
    _rx(
        r"\b(?:thanks to|because of)\s+(?:you|your)\b[^.]{0,40}?\b(?:dodged|avoided|escaped|"
        r"averted|survived|kept|won)\b"
    ),
    _COUNTERFACTUAL_CREDIT,
)

_ORGANISATION = _words(
    r"chambers? of commerce",
    r"chamber",
    r"association",
    r"network",
    r"board",
    r"bni",
    r"rotary",
    r"lions",
    r"guild",
    r"society",
    r"council",
    r"club",
    r"chapter",
    r"institute",
    r"federation",
    r"alliance",
    r"group",
    r"committee",
    r"forum",
    r"circle",
    r"collective",
    r"consortium",
    r"union",
    r"academy",
    r"college",
    r"round table",
)
_PARTNER_PATTERNS: tuple[re.Pattern[str], ...] = (
    _rx(
        r"\b(?:joined|joining|signed up (?:to|with|for)|accepted into|admitted to|"
        r"(?:elected|appointed|voted|co-opted|invited)\s+(?:on)?to(?: join)?|sits? on|"
        r"sitting on|now on|(?:became|become|becoming|now|is|are|'re|'m|am|'s)\s+(?:a |an |the )?"
        r"(?:new )?(?:members?|fellow|chair|chairman|chairwoman|president|treasurer|secretary|"
        r"trustee|governor|ambassador) of|made (?:a )?(?:\w+ )?of)\s+"
        r"(?:[\w'&-]+\s+){0,6}?" + _ORGANISATION + r"\b"
    ),
)
# Senses of the organisation words that are not memberships.
_PARTNER_FALSE_FRIEND = _rx(
    r"\b(?:board (?:meeting|call|pack|papers)|pulp chamber|chamber of the tooth|in association "
    r"with|association between|network (?:outage|effects?|issues?|problems?|drive)|whatsapp|"
    r"slack|group chat|mailing list)\b|\bjoin(?:ed|ing)\s+(?:the\s+|a\s+|our\s+)?(?:call|meeting|"
    r"zoom|teams|webinar|session|conversation|company|firm|team|practice|us|queue|dots)\b"
)

_COMPLAINT_PATTERNS: tuple[re.Pattern[str], ...] = (
    _rx(
        r"\b(?:complain(?:ed|s|ing|t|ts)?|disappoint(?:ed|ing|ment)|unhappy|frustrat(?:ed|ing)|"
        r"fed up|annoyed|annoying|upset|angry|furious|livid|unacceptable|ridiculous|terrible|"
        r"awful|horrible|appalling|dreadful|shocking|worst|rude|unprofessional|incompetent|"
        r"useless|overcharg\w*|embarrass\w*|waste of|wasted|gone downhill|sloppy|careless)\b"
    ),
    _rx(
        r"\bnot\s+(?:at all\s+|very\s+|that\s+|so\s+|too\s+)?(?:happy|impressed|pleased|"
        r"satisfied|great|good|acceptable|ok|okay|good enough|worth|what (?:we|i|they))\b|"
        r"\b(?:wasn't|weren't|isn't|aren't|was not|were not|is not|are not)\s+(?:\w+\s+)?"
        r"(?:great|good|happy|impressed|ideal|acceptable|up to|what (?:we|i|they|he|she)|"
        r"getting value|worth)\b|\b(?:isn't|is not|aren't|not) getting (?:any )?value\b"
    ),
    _rx(r"\b(?:wouldn't|would not|won't|will not|can't|cannot|couldn't|never)\s+recommend\b"),
    # Damage words, unless the patient arrived with it ("came in with a broken tooth").
    _rx(
        r"\b(?:wrong|incorrect)\b|(?<!with a )(?<!with an )(?<!with )(?<!a )\b(?:mistakes?|"
        r"errors?|missing|damaged|broken|torn|faulty|defective|leaking|cracked|crashe[sd]|"
        r"crashing)\b(?!\s+(?:tooth|teeth))"
    ),
    _rx(
        r"\bstill\b[^.]{0,40}?\b(?:waiting|in pain|pain|sore|sensitive|hurts?|not|isn't|hasn't|"
        r"haven't|no|nothing|wrong|broken|late)\b|\byet again\b"
    ),
    _rx(
        r"\b(?:sore|sensitive|hurts?|aching|pain)\b[^.]{0,30}?\b(?:since|after)\s+(?:the|my|"
        r"her|his|their|your)\b"
    ),
    _rx(
        r"\b(?:nobody|no one|no-one|noone|never)\s+(?:has\s+|have\s+|had\s+|ever\s+)?"
        r"(?:called|rang|rung|returned|returns|replied|replies|got back|gets back|turned up|"
        r"came|arrived|showed|explained|told|answered|answers|bothered|followed up|"
        r"responded|responds)\b"
    ),
    _rx(
        r"\b(?:did|does|do|has|have|had)(?:n't| not)\s+(?:\w+\s+){0,2}?(?:tell|call|turn up|"
        r"show up|arrive|reply|respond|answer|explain|listen|understand|bother|deliver|work|"
        r"fix|follow up)\b"
    ),
    _rx(
        r"\b(?:was|were|is|are|came|arrived|arriving|running|ran|turned up|delivered|filed|"
        r"submitted|been)\s+(?:\w+\s+)?late\b|\blate\s+(?:again|delivery|deliveries|filing|"
        r"shipment|response|reply|replies)\b|\bdelay(?:ed|s)?\b|\bmissed\s+(?:the\s+|our\s+|"
        r"my\s+|a\s+|another\s+|its\s+|their\s+)?(?:\w+\s+)?(?:deadline|launch|date|window|"
        r"filing)s?\b|\bcancell?ed on\b"
    ),
    _rx(
        r"\bslow\s+(?:replies|responses?|service|progress|turnaround|delivery)\b|\b(?:so|too|"
        r"very|really|painfully)\s+slow\b|\bslow to\b"
    ),
    _rx(
        r"\b(?:had|have|having|keep|kept)\s+to\s+chase\b|\b(?:keep|kept|tired of|sick of)\s+"
        r"chasing\b|\bchasing\s+(?:you|your|us)\b|\brefund\b|\b(?:wants?|wanting|going|"
        r"threaten\w*|decided|asked|asking) to cancel\b|\bcancel\s+(?:the|my|our|his|her|their)"
        r"\s+(?:retainer|contract|order|account|subscription|membership|plan)\b|\b(?:go|going|"
        r"went|look|looking|move|moving|take|taking|shop|shopping)\s+(?:[\w']+\s+){0,3}?"
        r"elsewhere\b"
    ),
    _rx(
        r"\b(?:higher|more|longer|bigger|worse)\s+than\s+(?:the\s+|we\s+were\s+|i\s+was\s+)?"
        r"(?:estimate|estimated|quote|quoted|expected|agreed|promised)\b|\btwice what\b|"
        r"\b(?:expected|deserve|hoped for) (?:much |a lot |far )?better\b"
    ),
    _rx(
        r"\b(?:rubs|rubbing|fell out|falls out|came loose|came off|feels? off|feels? wrong|"
        r"sales pitch|short again|has been short|were short|was short|half the order|"
        r"zero leads|no leads|no results)\b|\b(?:felt|feel|feels|was|were|being|been)\s+"
        r"(?:\w+\s+)?rushed\b"
    ),
    _rx(
        r"\b(?:waited|waiting|kept (?:me|us|her|him|them) waiting)\s+(?:for\s+)?(?:over\s+|"
        r"more than\s+|nearly\s+|almost\s+|about\s+)?(?:\w+\s+)?(?:minutes|hours|days|weeks|"
        r"months|ages|forever)\b"
    ),
    _rx(
        r"\bmost\s+(?:expensive|complicated|confusing|disorgani[sz]ed|overpriced|chaotic|"
        r"stressful|painful|frustrating)\b[^.]{0,30}?\bever\b"
    ),
    # Sarcasm: a cheer word followed by "another"/"again" ("oh great, another late invoice").
    _rx(
        r"^\W*(?:oh\s+)?(?:great|brilliant|fantastic|perfect|lovely|wonderful|marvellous)\W+"
        r"(?:\w+\W+){0,2}(?:another|again)\b|\b(?:third|fourth|fifth|second|umpteenth) time\b"
    ),
    # Rhetorical "why" questions about our process are complaints even as questions.
    _rx(
        r"^\W*why\b[^.]{0,60}?\b(?:still|again|so long|take|takes|taking|charged|charging|"
        r"nobody|no one|never|not|n't|wrong|late)\b"
    ),
)
# Business targets for VADER-only complaints: a negative sentence about a crashing market or
# a sick CEO is not a complaint about us, one about "your invoice" is.
_SERVICE_TARGET = _rx(
    r"\b(?:you|your|the (?:invoice|bill|fee|fees|service|team|staff|firm|practice|agency|"
    r"delivery|order|shipment|report|work|website|site|campaign|consultant|dentist|lawyer|"
    r"accountant|receptionist|hygienist|appointment|treatment|crown|filling))\b"
)
_VADER_COMPLAINT_MAX = -0.45
# A praise cue in a clause VADER reads as negative is usually sarcasm or a negation the
# patterns did not see ("hardly the best service"); neutral clauses are fine ("a star").
_VADER_PRAISE_MIN = -0.05


# --- detection ---------------------------------------------------------------------------


def _mask(text: str, pattern: re.Pattern[str]) -> str:
    """Blank out matches, keeping length, so later patterns and offsets are unaffected."""
    return pattern.sub(lambda m: " " * len(m.group(0)), text)


def _first(patterns: Iterable[re.Pattern[str]], text: str) -> re.Match[str] | None:
    best: re.Match[str] | None = None
    for pattern in patterns:
        match = pattern.search(text)
        if match and (best is None or match.start() < best.start()):
            best = match
    return best


def _find_praise(sentence: Sentence) -> int | None:
    text = sentence.text
    for pattern in _PRAISE_PATTERNS:
        for match in pattern.finditer(text):
            idiom = pattern is _POSITIVE_IDIOMS
            if idiom and not _PRAISE_IDIOM.search(match.group(0)):
                continue  # "no complaints" is relief, not praise
            if idiom:
                return match.start()
            if _NOT_PRAISE_SUPERLATIVE.search(match.group(0)):
                continue
            begin, end = sentence.clause_at(match.start())
            before = _mask(text[begin : match.start()], _POSITIVE_IDIOMS)
            if _NEGATED_BEFORE.search(before) or compound(text[begin:end]) < _VADER_PRAISE_MIN:
                continue
            return match.start()
    return None


def _negated_praise(sentence: Sentence, masked: str) -> int | None:
    """Offset of a praise cue under a negator ("not the best service", "hardly impressive")."""
    for pattern in _PRAISE_PATTERNS:
        if pattern is _POSITIVE_IDIOMS:
            continue  # positive by construction
        for match in pattern.finditer(masked):
            begin, _ = sentence.clause_at(match.start())
            if _NEGATED_BEFORE.search(masked[begin : match.start()]):
                return match.start()
    return None


def _find_complaint(sentence: Sentence, masked: str) -> int | None:
    match = _first(_COMPLAINT_PATTERNS, masked)
    if match:
        return match.start()
    negated_at = _negated_praise(sentence, masked)
    if negated_at is not None:
        return negated_at
    if sentence.is_question:
        return None  # VADER cannot tell a worried question from a grievance
    for begin, end in sentence.clauses:
        clause = masked[begin:end]
        if (
            clause.strip()
            and _SERVICE_TARGET.search(clause)
            and (compound(sentence.text[begin:end]) <= _VADER_COMPLAINT_MAX)
        ):
            return begin
    return None


def sentence_kinds(sentence: Sentence) -> dict[str, int]:
    """Kind -> offset (within the sentence) of the cue that triggered it."""
    found: dict[str, int] = {}
    # Positive kinds need a statement of fact: no question, condition or hedge.
    factual = not (sentence.is_question or sentence.has_condition or sentence.is_hedged)
    text = sentence.text
    if factual:
        for kind, patterns in (
            (TESTIMONIAL, _TESTIMONIAL_PATTERNS),
            (REFERRAL, _REFERRAL_PATTERNS),
            (SAVED_US, _SAVED_US_PATTERNS),
        ):
            match = _first(patterns, text)
            # "I would not recommend you" is the opposite of a moment; rescues are phrased as
            # negated counterfactuals ("wouldn't have made it without you"), so they are exempt.
            if match and (
                kind == SAVED_US
                or not (
                    _NEGATOR_INSIDE.search(match.group(0))
                    or _NEGATED_BEFORE.search(text[: match.start()])
                )
            ):
                found[kind] = match.start()
        if SAVED_US not in found and _CREDIT.search(text):
            match = _PREVENTED.search(text)
            if match:
                found[SAVED_US] = match.start()
        if not _PARTNER_FALSE_FRIEND.search(text):
            match = _first(_PARTNER_PATTERNS, text)
            if match:
                found[PARTNER_ASSOCIATION] = match.start()
    elif credit := _COUNTERFACTUAL_CREDIT.search(text):
        found[SAVED_US] = credit.start()

    if not sentence.is_conditional:
        # Words inside a rescue ("saved us from a huge fine") or a positive idiom ("no
        # complaints") describe what did *not* happen; hide them from the complaint patterns.
        masked = _mask(_mask(text, _POSITIVE_IDIOMS), _NOT_A_GRIEVANCE)
        if SAVED_US in found:
            masked = _mask_saved_clauses(sentence, masked)
        complaint_at = _find_complaint(sentence, masked)
        if complaint_at is not None:
            found[COMPLAINT] = complaint_at

    if factual and COMPLAINT not in found:
        praise_at = _find_praise(sentence)
        if praise_at is not None:
            found[PRAISE] = praise_at
    return found


def _mask_saved_clauses(sentence: Sentence, masked: str) -> str:
    for begin, end in sentence.clauses:
        clause = sentence.text[begin:end]
        if _first(_SAVED_US_PATTERNS, clause) or _PREVENTED.search(clause):
            masked = masked[:begin] + " " * (end - begin) + masked[end:]
    return masked


def evidence(sentence: Sentence, offset: int) -> str:
    """The sentence, or a word-aligned window of it around the cue, as found in the input."""
    original = sentence.original
    if len(original) <= EVIDENCE_MAX_CHARS:
        return original
    start = max(0, min(offset - EVIDENCE_MAX_CHARS // 3, len(original) - EVIDENCE_MAX_CHARS))
    if start > 0:
        space = original.find(" ", start)
        start = space + 1 if 0 <= space < offset else start
    window = original[start : start + EVIDENCE_MAX_CHARS]
    if start + EVIDENCE_MAX_CHARS < len(original) and " " in window[EVIDENCE_MAX_CHARS // 2 :]:
        window = window[: window.rindex(" ")]
    return window.strip()


def detect_rules(text: str) -> dict[str, str]:
    """Return ``{kind: evidence}`` for every kind in TEXT_KINDS found in ``text``.

    Evidence is the triggering sentence (or a window of it), trimmed to about 120 characters
    and always a substring of the input, so it can be shown as the "why" of an agenda item.
    """
    if not text or not text.strip():
        return {}
    text = text[:MAX_INPUT_CHARS]
    found: dict[str, str] = {}
    for sentence in split_sentences(text):
        for kind, offset in sentence_kinds(sentence).items():
            found.setdefault(kind, evidence(sentence, offset))
    return {kind: found[kind] for kind in TEXT_KINDS if kind in found}
