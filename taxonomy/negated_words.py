"""Words that say a value is missing by a negating affix: "unfair" is "not fair".

A value is upheld and violated in words of both kinds ("fair", "unfair"; "respectful",
"disrespectful"), and a taxonomy should hold both in one value, as it holds "fair" and "isn't
fair". The embedding model does not see it so: MiniLM puts "unfair" at cosine 0.58 from "fair"
and "inconsiderate" at 0.39 from "considerate", but "not fair" at 0.78 and "not considerate" at
0.90. So what is embedded for such a word is "not" and its base, and the word's two sides meet.

The list is written by hand because the affixes are not reliable alone: "dismissive" is not
"not missive", "independent" is a value of its own, "invaluable" means very valuable, and
"mistreat" is to treat badly, not to leave untreated. Only judgments of conduct or character
are listed; feelings ("unhappy", "uncomfortable") and facts ("unemployment") are not. The
words are spaCy lemmas, as normal forms hold them.
"""
from __future__ import annotations

NEGATED: dict[str, str] = {
    # un-
    "unacceptable": "acceptable", "unappreciative": "appreciative", "unbiased": "biased", "uncaring": "caring",
    "unconstitutional": "constitutional", "uncooperative": "cooperative", "undemocratic": "democratic",
    "unempathetic": "empathetic", "unequal": "equal", "unethical": "ethical", "unfair": "fair",
    "unfairness": "fairness", "unfaithful": "faithful", "unforgiving": "forgiving", "ungracious": "gracious",
    "ungrateful": "grateful", "unhelpful": "helpful", "unjust": "just", "unkind": "kind", "unkindness": "kindness",
    "unlawful": "lawful", "unprofessional": "professional", "unreasonable": "reasonable", "unreliable": "reliable",
    "unsafe": "safe", "unselfish": "selfish", "unsupportive": "supportive", "untrustworthy": "trustworthy",
    "untruthful": "truthful", "unwilling": "willing", "unwillingness": "willingness", "unloving": "loving",
    "unappreciated": "appreciated", "unfaithfulness": "faithfulness", "unaccountable": "accountable",
    # dis-
    "dishonest": "honest", "dishonesty": "honesty", "dishonor": "honor", "dishonour": "honour",
    "dishonorable": "honorable", "dishonourable": "honourable", "disloyal": "loyal", "disloyalty": "loyalty",
    "disobedience": "obedience", "disobedient": "obedient", "disobey": "obey", "disrespect": "respect",
    "disrespected": "respected", "disrespectful": "respectful", "distrust": "trust", "distrustful": "trustful",
    # in- / im- / il- / ir-
    "illegal": "legal", "illegitimate": "legitimate", "immature": "mature", "immaturity": "maturity",
    "immoral": "moral", "immorality": "morality", "impatient": "patient", "impolite": "polite",
    "improper": "proper", "inappropriate": "appropriate", "incompetence": "competence", "incompetent": "competent",
    "inconsiderate": "considerate", "indecent": "decent", "indignity": "dignity", "inequality": "equality",
    "inequity": "equity", "inflexible": "flexible", "inhumane": "humane", "injustice": "justice",
    "insensitive": "sensitive", "insensitivity": "sensitivity", "intolerance": "tolerance", "intolerant": "tolerant",
    "irrational": "rational", "irresponsible": "responsible", "irresponsibility": "responsibility",
    # -less against -ful
    "careless": "careful", "harmless": "harmful", "tactless": "tactful", "thoughtless": "thoughtful",
    # adverbs, which keep their ending as lemmas
    "disrespectfully": "respectfully", "unfairly": "fairly", "dishonestly": "honestly",
}


def negation_spelled_out(norm: str) -> str:
    """``norm`` with each listed word written as "not" and its base: "unfair" -> "not fair",
    "disrespect wish" -> "not respect wish". A word already negated ("not unfair") loses both
    negations: "fair"."""
    words = norm.split()
    if not any(w in NEGATED for w in words):
        return norm
    out: list[str] = []
    for w in words:
        base = NEGATED.get(w)
        if base is None:
            out.append(w)
        elif out and out[-1] == "not":
            out[-1] = base
        else:
            out += ["not", base]
    return " ".join(out)
