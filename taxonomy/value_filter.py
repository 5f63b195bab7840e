"""Which found spans are value expressions, and why the others are not.

The extraction rules cast a wide net; this filter sets apart what a reader would not call a
value expression, and records the reason on the expression (``Expression.excluded``) so that a
reviewer can audit it (``taxonomy show --excluded``). Nothing is deleted: excluded expressions
stay in ``expressions.jsonl``, they are only kept out of clustering.

Reasons:

- ``verdict``: the verdict or an insult that only restates it (asshole, YTA, jerk);
- ``thin_evaluation``: approval or disapproval that names no value (wrong, bad, fine, valid, weird);
- ``bare_noun``: a person, kin, object or place named without anything said about it
  ("my family", "your house", "the money");
- ``fact``: a discourse noun that carries the argument rather than a value ("the fact", "no reason");
- ``not_moral``: a state, feeling or description that judges nobody's conduct (easy, funny,
  expensive, asleep, adult), or an adjective outside the lexicon said of the writer ("I would
  be very vocal");
- ``narration``: an everyday act reported without judging it ("told her", "helped you",
  "lent them money"); the same verb negated ("never told her") or with a value word in its
  span ("tell the truth") is kept;
- ``practical_advice``: a "should" about an everyday act with nothing valued in it ("you should
  look for a job", "should take a loan"); negated duties and duties with a value word are kept;
- ``stance``: a position on whether something should be allowed, with nothing valued in it
  ("zoos should not be banned", "should legalize sex selection", "should have allowed it"): the
  verdict of an argument, as "asshole" is of a comment; the reasons given for it carry the values
  (a duty whose object is a value word, "should ban discrimination", is kept; "should abolish
  safe spaces", where the value word only modifies the object, is a stance);
- ``description``: an adjective describing a thing, not judging a person or an act
  ("a nice long nap", "proper terminology");
- ``modifier``: a value noun used only to classify another noun ("support animal", "child support");
- ``idiom``: a value word inside a fixed phrase that means something else ("trust me, ...",
  "out of control", "speak in private", "to be fair");
- ``quoted``: the span stands in quotation marks of its own, a word mentioned or held at a
  distance rather than used ('replace "punishing" with ...', 'i find this "punishment"
  hilarious', 'the comment about "cheating"');
- ``fragment``: nothing left to read once function words are dropped.

The word lists are the team's and deliberately short: they hold words that are never a value
on their own. A word that is a value in some uses ("fair", "kind", "respect") is not listed.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Iterable, Mapping

VERDICT = {
    "asshole", "assholes", "ah", "a-hole", "arsehole", "yta", "nta", "esh", "nah", "info", "ywbta", "ywnbta", "jerk",
    "dick", "douche", "douchebag", "prick", "idiot", "moron", "villain", "bad guy", "the bad guy", "ass",
}
THIN = {
    "wrong", "right", "bad", "good", "fine", "ok", "okay", "valid", "invalid", "acceptable", "unacceptable", "justified",
    "unjustified", "justify", "reasonable", "unreasonable", "appropriate", "inappropriate", "terrible", "awful",
    "horrible", "horrid", "shitty", "crappy", "ridiculous", "weird", "strange", "odd", "crazy", "insane", "nuts",
    "normal", "understandable", "great", "out of line", "over the top", "correct", "incorrect", "dumb", "stupid",
    "silly", "gross", "wild", "worse", "worst", "better", "best", "not cool", "cool", "mean it", "absurd", "irrational",
    "realistic", "unrealistic", "accurate", "inaccurate", "legit", "legitimate", "fair enough", "disgusting",
    "excuse", "no excuse", "positive", "negative",
}
KIN_AND_PEOPLE = {
    "family", "mom", "mother", "dad", "father", "parent", "parents", "sister", "brother", "sibling", "siblings", "wife",
    "husband", "son", "daughter", "kid", "kids", "child", "children", "baby", "partner", "boyfriend", "girlfriend", "bf",
    "gf", "friend", "friends", "grandma", "grandpa", "grandmother", "grandfather", "aunt", "uncle", "cousin", "niece",
    "nephew", "in-law", "in-laws", "fiance", "fiancee", "spouse", "roommate", "neighbor", "neighbour", "coworker",
    "boss", "people", "person", "guy", "girl", "man", "woman", "everyone", "someone", "adult", "adults", "teen",
    "teenager", "stepdaughter", "stepson", "stepmom", "stepdad", "ex", "classmate", "classmates", "relative",
}
OBJECTS_AND_PLACES = {
    "money", "house", "home", "car", "room", "phone", "gift", "present", "school", "job", "work", "wedding", "party",
    "dinner", "food", "dog", "cat", "pet", "apartment", "seat", "bathroom", "kitchen", "door", "bed", "stuff", "name",
    "court", "office", "church", "hospital", "trip", "vacation", "holiday", "birthday", "christmas", "face",
    "hair", "clothes", "dress", "ring", "business", "marriage", "relationship", "neighborhood", "drama",
    "therapy", "inheritance", "rent", "bill", "bills", "debt", "loan", "degree", "college", "game", "song", "death",
}
FACT_NOUNS = {
    "fact", "facts", "reason", "reasons", "thing", "things", "point", "way", "issue", "issues", "situation", "problem",
    "problems", "question", "part", "matter", "order", "evidence", "experience", "potential", "conversation", "story",
    "post", "comment", "update", "edit", "detail", "details", "context", "case", "example", "idea", "option", "plan",
    "deal", "time", "day", "year", "moment", "chance", "sense", "fact of life", "logic", "proof", "documentation",
    "same logic", "argument", "opinion on",
    # What an argument cites as its ground ("the data", "research shows"), like "evidence"; spaCy
    # lemmatises "data" to "datum".
    "data", "datum", "research", "statistic", "statistics",
    # Abstract nouns (by their suffix) that name a thing, an event or a state, not a value.
    "information", "position", "location", "vacation", "relationship", "relationships", "membership", "apartment",
    "comment", "moment", "statement", "government", "department", "payment", "appointment", "attention", "reaction",
    "action", "actions", "mention", "version", "session", "section", "nation", "station", "population", "generation",
    "difference", "existence", "instance", "distance", "sentence", "audience", "reference", "conference", "insurance",
    "entrance", "ambulance", "substance", "maintenance", "assignment", "management", "requirement", "announcement",
    "engagement", "entertainment", "treatment", "business", "illness", "sickness", "city", "university", "activity",
    "quantity", "ability", "possibility", "majority", "identity", "personality", "reality", "activity", "facility",
    "utility", "entity", "electricity", "celebrity", "scholarship", "neighborhood", "childhood", "emergency",
    "pregnancy", "policy", "currency", "pharmacy", "condition", "direction", "suggestion", "description", "definition",
    "explanation", "conversation", "discussion", "question", "situation", "option", "solution", "intention",
    "attraction", "connection", "collection", "selection", "tuition", "nutrition", "medication", "operation",
    "organization", "application", "graduation", "competition", "promotion", "motion", "portion", "addition", "edition", "occasion", "profession", "impression", "expression",
    "depression", "confession", "commission", "mission", "division", "television",
    "apartment", "basement", "document", "instrument", "equipment", "argument", "arrangement",
    "settlement", "statement", "environment", "investment", "judgment", "judgement",
}
NOT_MORAL = {
    "easy", "hard", "difficult", "funny", "hilarious", "expensive", "cheap", "loud", "quiet", "comfortable",
    "uncomfortable", "happy", "unhappy", "tired", "asleep", "sleep", "die", "dead", "alive", "win", "lose", "live", "fun",
    "boring", "interesting", "amazing", "awesome", "cute", "lovely", "beautiful", "ugly", "nice to have", "convenient",
    "inconvenient", "hungry", "sick", "ill", "drunk", "high", "tall", "short", "fat", "thin", "rich", "poor", "smart",
    "lucky", "unlucky", "sweet", "scary", "sad", "upset", "mad", "angry", "annoyed", "annoying", "jealous", "worried",
    "stressed", "nervous", "scared", "embarrassed", "shocked", "surprised", "confused", "overwhelmed", "excited",
    "doubtful", "likely", "unlikely", "possible", "impossible", "clear", "obvious", "true", "false", "real", "fake",
    "qualified", "sturdy", "awkward", "miserable", "simple", "exhausting", "unnecessary", "related", "in advance",
    "talk", "think", "think about", "plan", "delay", "stay", "move", "leave", "go", "come", "wait", "watch",
    # Who someone is, not how they acted.
    "gay", "straight", "lesbian", "bi", "bisexual", "trans", "jewish", "christian", "muslim", "catholic", "atheist",
    "black", "white", "asian", "naked", "married", "single", "pregnant", "young", "old", "religious",
}
DETERMINERS = {"my", "your", "his", "her", "their", "our", "its", "the", "a", "an", "this", "that", "these", "those",
               "op", "op's", "no", "any", "some", "own"}
# Everyday acts: a value expression only when judged (negated, obliged with a value word, ...).
EVERYDAY_ACTS = {
    "tell", "explain", "talk", "help", "lend", "pay", "share", "support", "consider", "afford", "raise", "stress",
    "improve", "fail", "escalate", "promise", "care", "impress", "get", "say", "ask", "give", "discuss", "call", "text",
    "visit", "invite", "offer", "buy", "spend", "work", "move", "leave", "take", "look", "lose", "devote", "put",
    "seem", "face", "knock", "keep", "sort", "experience", "run", "screenshot", "go", "find", "hire", "sell", "send",
    "check", "use", "bring", "make", "do", "try", "start", "stop", "stay", "bounce", "mess", "embrace", "throw",
    "ruin", "destroy", "cut", "wait", "eat", "drink", "sleep", "live", "show", "write", "read", "watch", "play",
    # Seen as values of their own on the AITA comments ("Handle": "needs to handle it").
    "handle", "receive", "kick", "notify", "circle", "disable", "dump", "split", "remain", "come",
}
# Everyday verbs in fixed phrases that judge conduct by themselves: "taking advantage of you",
# "playing favorites", "going back on her word", "you escalated the situation". Read by the verb
# alone they were narration, the commonest exclusion of a judgment on the AITA comments (7 of 7
# "take advantage") and on gpt-4o's rationales ("escalated the situation", 13).
JUDGING_PHRASES = {
    "take advantage", "play favorite", "play favorites", "go back on", "do part", "look out for", "take side",
    "take credit", "work hard", "escalate situation", "escalate thing", "escalate matter", "escalate conflict",
}
# Verbs of permitting and forbidding: "should (not) VERB X" with nothing valued in X is a stance
# on X ("Should Not Be Banned / Should Be Allowed" was the largest value of argument premises).
# Only verbs that rule on permission: "limit" or "restrict" also set a boundary ("should limit
# contact"), which is a value expression in a comment.
STANCE_VERBS = {
    "ban", "allow", "permit", "prohibit", "forbid", "abolish", "legalize", "legalise", "outlaw", "criminalize",
    "criminalise", "decriminalize", "decriminalise", "adopt", "subsidize", "subsidise", "fund", "mandate", "regulate",
    "privatize", "privatise", "nationalize", "nationalise", "repeal", "approve", "end",
}
# Fixed phrases whose value word means something else: "trust me, ...", "out of control"
# (chaotic), "speak in private", "to be fair" (a hedge). A value word inside one is an idiom.
IDIOMS = {
    "trust me", "to be honest", "to be fair", "in fairness", "in all honesty", "honest to god", "out of control",
    "in private", "no offense", "no offence", "with all due respect", "all due respect", "take care", "for the record",
    "hit hard", "hits hard", "stand firm", "my bad", "in good conscience", "fair share of", "fair amount",
    "free time", "free trial", "for free", "care less", "couldn't care", "could care less", "who cares",
    "never mind", "nevermind", "kind of", "in trust", "trust fund",
    # Trust and grace as values are mass nouns; counted, "a trust" holds money ("benefits from a
    # trust") and "a grace" is said before a meal.
    "a trust", "a grace",
}
# Nouns an adjective may judge: people, and acts or manners.
JUDGEABLE = {"person", "people", "thing", "move", "behavior", "behaviour", "act", "action", "attitude", "comment",
             "remark", "joke", "way", "response", "reaction", "request", "demand", "decision", "choice", "treatment",
             "manner", "tone", "gesture", "excuse", "lie", "stunt", "parent", "mother", "father", "friend", "partner",
             "husband", "wife", "boyfriend", "girlfriend", "sister", "brother", "family", "human", "individual", "guy",
             "woman", "man", "kid", "child", "boss", "roommate", "neighbor", "neighbour", "mil", "fil", "op",
             # Acts, motives and insults: "a cruel trick", "your own selfish need", "a selfish ass",
             # "a fair split", "a little on the rude side".
             "trick", "prank", "incident", "ask", "slur", "insult", "need", "motive", "intent", "intention",
             "conduct", "deed", "habit", "split", "share", "deal", "arrangement", "side", "ass", "bitch"}
# Not a reason but a state: an open word (extract.py) waiting for the span filter's decision.
OPEN_CANDIDATE = "open_candidate"


def excluded_stats(by_reason: Mapping[str, int]) -> dict:
    """The taxonomy stats ``taxonomy show`` reads about what was set apart, from counts by reason."""
    return {"n_excluded": sum(by_reason.values()), "excluded_by_reason": dict(sorted(by_reason.items()))}


def count_excluded(expressions) -> Counter:
    return Counter(e.excluded for e in expressions if e.excluded)


REASONS = ("verdict", "thin_evaluation", "bare_noun", "fact", "not_moral", "narration", "practical_advice", "stance",
           "description", "modifier", "idiom", "quoted", "fragment")


@dataclass(frozen=True)
class SpanSyntax:
    """What the extractor's parse says about a span: its head's part of speech and dependency,
    the word the head hangs from, whether the span is negated, and how many other words in
    the span carry a value (lexicon words)."""

    head_pos: str | None = None
    head_dep: str | None = None
    governor: str | None = None
    negated: bool = False
    value_words: int = 0
    # An adjective outside the lexicon said of the writer ("I would be very vocal").
    self_state: bool = False
    # The head word sits inside one of the IDIOMS ("trust me", "out of control").
    idiom: bool = False
    # Quotation marks right before and right after the span: scare quotes or a word mentioned.
    quoted: bool = False
    # The span's last noun (a duty's object) is a value word: "should ban discrimination".
    object_value: bool = False
    # The governor's part of speech (None: not known).
    governor_pos: str | None = None


def listed_forms(word: str) -> tuple[str, ...]:
    """The forms under which the word lists here know a hyphenated word: as written, without its
    hyphens ("co-worker" as "coworker") and by what follows each hyphen ("mother-in-law" as
    "in-law", "ex-wife" as "wife")."""
    if "-" not in word:
        return (word,)
    parts = word.split("-")
    return (word, "".join(parts), *("-".join(parts[i:]) for i in range(1, len(parts))))


def in_list(word: str, words: "set[str] | frozenset[str]") -> bool:
    return any(form in words for form in listed_forms(word))


# An adjective describes a thing only when it modifies a noun (or the adjective before one: "a
# nice long nap"); the parser also calls "selfish" in "could be seen as selfish" a modifier, of
# "as", and there it is said of an act.
DESCRIBED_POS = {"NOUN", "PROPN", "ADJ", None}

# The prepositions a named value takes its object with ("respect for your wife's family").
OBJECT_PREPOSITIONS = {"for", "of", "to", "toward", "towards"}


def _head(words: list[str]) -> str:
    """The word a normal form is about: the last word, or the word before the preposition that
    brings its object, so "respect for family" is about respect, not about the family it is for
    (read by its last word it was a bare noun, and "no respect for people" was set apart)."""
    for i in range(1, len(words)):
        if words[i] in OBJECT_PREPOSITIONS:
            return words[i - 1]
    return words[-1]


def _content(words: Iterable[str]) -> list[str]:
    return [w for w in words if w not in DETERMINERS]


def exclusion_reason(norm: str, rule: str, *, text: str | None = None, syntax: SpanSyntax | None = None,
                     head_pos: str | None = None) -> str | None:
    """Why the expression with this normal form is not a value expression, or ``None`` if it is one.

    ``rule`` is the extraction rule that found it: a stated duty, right or priority ("should
    tell her", "family comes first") says something about its words, so bare-noun and state
    checks apply only to single-word readings (evaluative words, value verbs, named values).
    ``syntax`` is what the parse says about the span (``head_pos`` alone may stand in for it).
    """
    syn = syntax or SpanSyntax(head_pos=head_pos)
    head_pos = syn.head_pos
    low = " ".join(norm.lower().replace("’", "'").split())
    words = _content(low.split())
    if not words or all(len(w) < 2 for w in words) or low in ("should", "right to", "right", "owe") \
            or (text is not None and ("\n" in text or not text.strip())):
        # A span across a line break joins two thoughts (a verdict line and the next sentence).
        return "fragment"
    if syn.idiom:
        return "idiom"
    if syn.quoted:
        return "quoted"
    surface = {w.strip(".,!?;:'\"()").lower() for w in (text or "").split()}
    if low in VERDICT or set(words) <= VERDICT or (rule == "evaluative" and surface & VERDICT and words[-1] in VERDICT):
        return "verdict"
    if rule in ("duty", "right", "norm"):
        # "should" alone with a verdict word: "you should be the asshole" reads as a verdict.
        rest = [w for w in words if w not in ("should", "not", "right", "to", "owe")]
        if rest and set(rest) <= VERDICT:
            return "verdict"
        if rule == "duty" and words[0] == "should" and len(words) > 1:
            if words[1] in EVERYDAY_ACTS and not syn.negated and syn.value_words == 0:
                return "practical_advice"
            verb = next((w for w in words[1:] if w not in ("not", "be")), None)
            if verb in STANCE_VERBS and not syn.object_value:
                return "stance"
        return None
    if rule == "value_verb" and any(" ".join(words[:n]) in JUDGING_PHRASES for n in (2, 3)):
        return None
    if rule == "value_verb" and words[0] in EVERYDAY_ACTS and not syn.negated and syn.value_words == 0:
        return "narration"
    if rule in ("explicit_value", "evaluative") and syn.head_dep == "compound":
        # "child support", "the trash can": the word only classifies the noun after it.
        return "modifier"
    if rule == "evaluative" and head_pos == "ADJ" and syn.head_dep == "amod" and syn.governor not in JUDGEABLE \
            and not in_list(syn.governor, KIN_AND_PEOPLE) and syn.governor_pos in DESCRIBED_POS:
        return "description"
    phrase = " ".join(words)
    if phrase in THIN or (len(words) <= 2 and words[-1] in THIN and words[0] in ("not", "so", "very", "really", "pretty", "totally")):
        return "thin_evaluation"
    if phrase in FACT_NOUNS or (len(words) <= 2 and words[-1] in FACT_NOUNS):
        return "fact"
    head = _head(words)
    if (in_list(head, KIN_AND_PEOPLE) or in_list(head, OBJECTS_AND_PLACES)) and head_pos in (None, "NOUN", "PROPN"):
        # A noun phrase headed by a person or a thing ("your house", "the whole family") names
        # something and judges nothing; an evaluation of it ("a controlling family") is found
        # by the evaluative rule on its adjective, and a priority ("family comes first") by the
        # norm rule, both kept above.
        return "bare_noun"
    if phrase in NOT_MORAL or (len(words) <= 2 and words[0] in NOT_MORAL and rule == "value_verb") or syn.self_state:
        return "not_moral"
    return None
