"""Stage 4a — rupture signals: the words that show a break with existing practice.

Rules over lemmas and structure (spaCy ``Matcher``), in the four families of the codebook. False friends are
excluded by construction (the noun *rupture* is never a cue) or by a filter (*une première réunion*,
*un roman inédit*, a *ne … plus* that contrasts nothing).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from spacy.tokens import Span

if TYPE_CHECKING:
    from spacy.tokens import Doc, Token

SPAN_KEY = "balise_signals"
FAMILIES = ("contrast", "rupture_verb", "first", "shift")


@dataclass(frozen=True)
class Signal:
    """A cue in a text: ``text[start:end]`` belongs to ``family``."""

    start: int
    end: int
    family: str
    text: str

    def to_dict(self) -> dict[str, Any]:
        """The signal as it appears in the JSONL output."""
        return {"start": self.start, "end": self.end, "family": self.family, "text": self.text}


_APOS = ["'", "’"]
_JUSQU = {"LOWER": {"IN": ["jusqu'", "jusqu’", "jusque"]}}

PATTERNS: dict[str, list[list[dict[str, Any]]]] = {
    "contrast": [
        [_JUSQU, {"LOWER": {"IN": ["ici", "alors", "-là"]}}],
        [{"LOWER": {"IN": ["jusque-là", "jusqu'alors", "jusqu’alors"]}}],
        [_JUSQU, {"LOWER": "à"}, {"LOWER": "présent"}],
        [{"LOWER": "jusqu'à"}, {"LOWER": "présent"}],
        [{"LOWER": {"IN": ["jusqu'ici", "jusqu’ici", "jusqu'alors", "jusqu’alors"]}}],
        [{"LOWER": {"IN": ["auparavant", "autrefois", "désormais", "dorénavant", "naguère"]}}],
        [{"LOWER": "au"}, {"LOWER": "lieu"}, {"LOWER": {"IN": ["de", "d'", "d’"]}}],
        [{"LOWER": "plutôt"}, {"LOWER": {"IN": ["que", "qu'", "qu’"]}}],
        [{"LOWER": "contrairement"}, {"LOWER": {"IN": ["à", "au", "aux"]}}],
        [{"LOWER": "à"}, {"LOWER": "la"}, {"LOWER": "place"}, {"LOWER": {"IN": ["de", "du", "des", "d'", "d’"]}}],
        [{"LOWER": {"IN": ["et", ","]}}, {"LOWER": "non"}, {"LOWER": "plus"}],
    ],
    "rupture_verb": [
        [{"LEMMA": {"IN": ["rompre", "romper"]}}, {"POS": "ADV", "OP": "*"}, {"LOWER": "avec"}],
        [{"LOWER": {"REGEX": r"^romp"}}, {"POS": "ADV", "OP": "*"}, {"LOWER": "avec"}],
        [{"LOWER": "en"}, {"LEMMA": "finir"}, {"POS": "ADV", "OP": "*"}, {"LOWER": "avec"}],
        [{"LOWER": {"REGEX": r"^fini[rst]?$|^finiss"}}, {"LOWER": "avec"}],
        [{"LEMMA": {"IN": ["sortir", "sortie"]}}, {"LOWER": {"IN": ["de", "d'", "d’"]}}, {"LOWER": {"IN": ["la", "une"]}},
         {"LOWER": {"IN": ["logique", "logiques"]}}],
        [{"LEMMA": {"IN": ["inverser", "renverser"]}}, {"LOWER": {"IN": ["la", "cette", "les"]}},
         {"LOWER": {"IN": ["logique", "logiques", "perspective", "regard"]}}],
        [{"LOWER": {"REGEX": r"^(inver|renver)s"}}, {"LOWER": {"IN": ["la", "cette", "les"]}},
         {"LOWER": {"IN": ["logique", "logiques", "perspective"]}}],
        [{"LEMMA": "changer"}, {"LOWER": {"IN": ["de", "d'"]}}, {"LOWER": {"IN": ["paradigme", "logique"]}}],
        [{"LOWER": {"IN": ["changement", "changements"]}}, {"LOWER": "de"}, {"LOWER": "paradigme"}],
        [{"LOWER": {"IN": ["renversement", "inversion", "inversement"]}}, {"LOWER": "de"}, {"LOWER": "la"},
         {"LOWER": {"IN": ["logique", "perspective"]}}],
        [{"LOWER": {"REGEX": r"^(repens|réinvent|reinvent|décloisonn|decloisonn|réinterrog|reinterrog)"}}],
        [{"LEMMA": "bousculer"}, {"LOWER": {"IN": ["les", "des", "nos", "leurs", "ces"]}},
         {"LOWER": {"IN": ["pratiques", "habitudes", "codes", "routines", "logiques"]}}],
    ],
    "first": [
        [{"LOWER": "pour"}, {"LOWER": "la"}, {"LOWER": "première"}, {"LOWER": "fois"}],
        [{"LOWER": {"IN": ["une", "grande", "vraie", "véritable"]}, "OP": "+"}, {"LOWER": "première"}],
        [{"LOWER": {"REGEX": r"^inédite?s?$"}}],
        [{"LOWER": {"REGEX": r"^pionni(er|ère|ers|ères)$"}}],
        [{"LOWER": "sans"}, {"LOWER": {"IN": ["équivalent", "précédent", "équivalents", "précédents"]}}],
    ],
}

_SHIFT = re.compile(
    r"\b(?:du|de\s+la|de\s+l['’]|des)\s*"
    r"(?:faire\s+pour|assistance|assistanat|guichet|logique\s+de\s+guichet|hébergement|prise\s+en\s+charge|"
    r"soin|placement|réparation|usager\s+passif|bénéficiaire|public\s+cible|consommateur|aide|"
    r"institution|[a-zàâçéèêëîïôûù\-]+\s+subi)\s+"
    r"(?:au|à\s+la|à\s+l['’]|aux|vers\s+l['’]|vers\s+le|vers\s+la)\s*"
    r"(?:faire\s+avec|pouvoir\s+d['’]agir|logement\s+d['’]abord|aller[\s\-]vers|accompagnement|"
    r"autonomie|prévention|participation|citoyen(?:\s+acteur)?|acteur|co-?construction|inclusion|"
    r"domicile|droit\s+commun|[a-zàâçéèêëîïôûù\-]+\s+choisi)\b",
    re.IGNORECASE,
)

_WORD = r"[a-zàâçéèêëîïôûùœ'’\-]+"
_SHIFT_LOGIC = re.compile(
    rf"\b(?:d['’]une|de\s+la|du)\s+logique\s+(?:de|d['’]|du|des)\s*{_WORD}(?:\s+{_WORD}){{0,2}}?\s+"
    rf"(?:à|a)\s+(?:une|la)\s+logique\s+(?:de|d['’]|du|des)\s*{_WORD}(?:\s+{_WORD}){{0,1}}",
    re.IGNORECASE,
)
_SHIFT_PASSAGE = re.compile(
    rf"\b(?:pass(?:age|er|é|ée|és|ées|ons|ent|e)|bascul(?:er|e|é)|glissement)\s+"
    rf"(?P<shift>(?:du|de\s+la|de\s+l['’]|des|d['’]une?)\s*(?!\d){_WORD}(?:\s+{_WORD}){{0,3}}?\s+"
    rf"(?:au|aux|à\s+la|à\s+l['’]|à\s+une?)\s*(?!\d){_WORD}(?:\s+(?!et\b|qui\b|pour\b|dans\b){_WORD}){{0,1}})",
    re.IGNORECASE,
)

# "ne … plus": from the negation to "plus", at most three words apart, found on the text (a token pattern with a
# wildcard is the slowest thing a Matcher can run); kept only when it contrasts (see _contrasts)
_NE_PLUS = re.compile(
    r"\b(?:ne\s+|n['’]\s*)(?:(?!pas\b|que\b|qu['’]|plus\b)[^\s.;:!?]+\s+){0,3}?plus\b", re.IGNORECASE
)
# every token pattern above needs one of these strings: a passage without any skips the Matcher
_TRIGGERS = re.compile(
    r"jusqu|jusque|auparavant|autrefois|désormais|dorénavant|naguère|au\s+lieu|plutôt|contrairement|à\s+la\s+place"
    r"|non\s+plus|romp|fini|sort|invers|renvers|chang\w*\s+d|repens|réinvent|reinvent|décloison|decloison"
    r"|réinterrog|reinterrog|bouscul|première|inédit|pionni|sans\s+équival|sans\s+précéd",
    re.IGNORECASE,
)

_UNPUBLISHED_HEADS = {
    "roman", "texte", "manuscrit", "photo", "photographie", "image", "document", "chanson", "titre", "album",
    "œuvre", "oeuvre", "lettre", "poème", "archive", "film", "enregistrement", "extrait", "vidéo", "morceau",
    "correspondance", "dessin", "version", "scène", "épisode", "saveur", "recette", "couleur", "match",
}
_FIRST_FOLLOWERS = {"dans", "en", "pour", "à", "au", "aux", "sur", "nationale", "régionale", "départementale",
                    "locale", "française", "européenne", "mondiale", "absolue", "historique", "qui", "que",
                    "chez", "parmi", "depuis", "ici", "là", "pareille", "du", "de"}
_MONTHS = {"janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
           "novembre", "décembre", "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"}
_CONTRAST_FOLLOW = {"mais", "désormais", "aujourd'hui", "aujourd’hui", "dorénavant", "maintenant", "place",
                    "remplacé", "remplacée", "remplacés", "remplacées", "plutôt", "lieu", "c'est", "c’est"}


class SignalDetector:
    """Finds rupture-signal spans in a parsed ``Doc`` (needs lemmas and POS; sentences help ``ne … plus``)."""

    def __init__(self, vocab: Any) -> None:
        from spacy.matcher import Matcher

        self.matcher = Matcher(vocab)
        for family, patterns in PATTERNS.items():
            self.matcher.add(family, patterns)

    def __call__(self, doc: Doc) -> Doc:
        """Set ``doc.spans['balise_signals']`` (labels are the families) and return the doc."""
        doc.spans[SPAN_KEY] = self.find(doc)
        return doc

    def find(self, doc: Doc) -> list[Span]:
        candidates: list[Span] = []
        text = doc.text
        if _TRIGGERS.search(text):
            for match_id, start, end in self.matcher(doc):
                family = doc.vocab.strings[match_id]
                span = self._trim(doc[start:end], family)
                if self._keep(span, family):
                    candidates.append(Span(doc, span.start, span.end, label=family))
        for match in _NE_PLUS.finditer(text):
            negation = doc.char_span(match.start(), match.end(), label="contrast", alignment_mode="expand")
            if negation is not None and _contrasts(negation):
                candidates.append(negation)
        for pattern, group in ((_SHIFT, 0), (_SHIFT_LOGIC, 0), (_SHIFT_PASSAGE, "shift")):
            for match in pattern.finditer(text):
                shift = doc.char_span(match.start(group), match.end(group), label="shift", alignment_mode="expand")
                if shift is not None:
                    candidates.append(shift)
        return _longest_first(candidates)

    @staticmethod
    def _trim(span: Span, family: str) -> Span:
        """Drop the leading adjectives of 'une vraie première' style matches: the cue is 'une première'."""
        if family == "first" and span[-1].lower_ == "première" and len(span) > 2:
            return span.doc[span.end - 2 : span.end] if span[-2].lower_ == "une" else span
        return span

    @staticmethod
    def _keep(span: Span, family: str) -> bool:
        doc = span.doc
        last = span[-1]
        following = doc[span.end] if span.end < len(doc) else None
        if family == "first":
            if last.lower_ == "première" and span[0].lower_ != "pour":
                # noun use ("c'est une première", "une première en France"), not "une première réunion"
                if following is None or following.is_punct or following.lower_ in _FIRST_FOLLOWERS:
                    return True
                return False
            if last.lower_.startswith("inédit"):
                return not _has_head_in(last, _UNPUBLISHED_HEADS)
            return True
        if family == "contrast" and span[0].lower_ in {"ne", "n'", "n’", "et", ","}:
            return _contrasts(span)
        if family == "contrast" and span[0].lower_ == "au" and following is not None:
            # "au lieu de janvier", "10 € au lieu de 100 €": dates and prices are not practices
            return following.lower_ not in _MONTHS
        return True


def _has_head_in(token: Token, heads: set[str]) -> bool:
    head = token.head
    previous = token.doc[token.i - 1] if token.i > 0 else None
    return head.lemma_.lower() in heads or (previous is not None and previous.lemma_.lower() in heads)


def _contrasts(span: Span) -> bool:
    """Is this 'ne … plus' a change of practice rather than a loss ('ils n'avaient plus de voiture')?

    Kept: a new practice follows ('mais', 'désormais', 'et non plus'); 'n'ont plus à' + infinitive; a present or
    non-finite verb that is not 'pouvoir' and is not followed by 'de'/'personne'/'rien' (a loss). Dropped: the
    imperfect, which describes a past state of people, not a change the project made.
    """
    doc = span.doc
    if span[0].lower_ in {"et", ","}:
        return True
    sent_end = span.sent.end if doc.has_annotation("SENT_START") else len(doc)
    window_end = min(len(doc), max(sent_end, span.end + 25))
    following = {t.lower_ for t in doc[span.end : window_end]}
    if following & _CONTRAST_FOLLOW:
        return True
    after = doc[span.end] if span.end < len(doc) else None
    if after is not None and after.lower_ in {"seulement", "uniquement", "simplement", "à"}:
        return True
    verbs = [t for t in span[1:-1] if t.pos_ in ("VERB", "AUX")]
    if not verbs:
        # "ne plus avoir à …": the verb follows
        return after is not None and after.pos_ in ("VERB", "AUX") and after.lemma_ != "pouvoir"
    verb = verbs[-1] if verbs[-1].pos_ == "VERB" else verbs[0]
    if verb.lemma_ == "contenter":
        return True
    stative = verb.lemma_ in {"pouvoir", "rester", "exister", "vouloir"} or verb.lower_.startswith(("rest", "exist"))
    if stative or "Imp" in verb.morph.get("Tense", []):
        return False
    losses = {"de", "d'", "d’", "personne", "rien", "aucun", "aucune", "du", "des"}
    if after is not None and after.lower_ in losses and verb.lemma_ in {"avoir", "être", "trouver", "voir"}:
        return False
    return True


def _longest_first(spans: list[Span]) -> list[Span]:
    """Non-overlapping spans, the longest kept on overlap, in text order."""
    chosen: list[Span] = []
    taken: set[int] = set()
    for span in sorted(spans, key=lambda s: (-(s.end - s.start), s.start)):
        if not any(i in taken for i in range(span.start, span.end)):
            chosen.append(span)
            taken.update(range(span.start, span.end))
    return sorted(chosen, key=lambda s: s.start)


def signals_of(doc: Doc, offset: int = 0) -> list[Signal]:
    """The signals set on ``doc`` as plain records, shifted by ``offset`` characters."""
    return [
        Signal(span.start_char + offset, span.end_char + offset, span.label_, span.text)
        for span in doc.spans.get(SPAN_KEY, [])
    ]
