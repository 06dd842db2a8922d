"""Stage 4b — what the classifier sees of a passage, computed once from spaCy's analysis.

A :class:`PassageFeatures` record is plain data (picklable, no spaCy objects), so that training can cache
it and worker processes can send it back cheaply. The scikit-learn transformers below turn a list of records
into a feature matrix.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from .signals import FAMILIES, Signal

if TYPE_CHECKING:
    from spacy.tokens import Span

ENTITY_LABELS = ("LOC", "ORG", "PER", "MISC")

# Cue lemmas of each marker, written from the codebook, in the form normalise_lemma gives ("pouvoir de agir"). The classifier learns how much each count weighs; the
# lists carry knowledge of the field that a few thousand passages cannot, and transfer across writing styles.
LEXICON: dict[str, tuple[str, ...]] = {
    "beneficiaires": (
        "habitant", "usager", "bénéficiaire", "bénévole", "pair", "pair aidance", "pair aidant", "participatif",
        "participation", "co-construire", "co-construction", "co-concevoir", "co-animer", "co-écrire", "concevoir",
        "initiative", "impliquer", "implication", "associer", "acteur", "pouvoir de agir", "faire avec",
        "locataire", "résident", "citoyen", "atelier", "collectif", "expertise de usage", "témoignage",
        "animer", "lui même", "parent", "famille", "proposer", "imaginer", "savoir",
    ),
    "ancrage_territorial": (
        "quartier", "commune", "local", "localement", "territoire", "territorial", "village", "rural", "canton",
        "intercommunal", "intercommunalité", "communauté de commune", "bassin", "diagnostic",
        "analyse de besoin social", "qpv", "politique de le ville", "partenaire", "partenariat", "mairie",
        "commerçant", "ville", "agglomération", "implanter", "implantation", "hameau", "bourg", "département",
        "centre social", "acteur local", "entreprise local", "ressource", "circuit court", "emploi local",
    ),
    "gouvernance": (
        "gouvernance", "pilotage", "co-piloter", "co-pilotage", "co-gestion", "co-décision", "comité de pilotage",
        "collège", "scic",
        "coopérative", "coopératif", "sociétaire", "vote", "voter", "voix", "personne", "conseil de administration",
        "assemblée", "instance", "décider", "décision", "collégial", "collégialement", "siéger", "représentant",
        "élire", "délibérer", "comité", "conseil", "gouverner", "administrateur", "bureau", "paritaire",
    ),
    "accessibilite_service": (
        "gratuit", "gratuitement", "gratuité", "tarif", "solidaire", "sans rendez-vous", "mobile", "itinérant",
        "aller vers", "domicile", "accompagnement", "accompagner", "accueil", "accueillir",
        "permanence", "accès", "accéder", "non-recours", "simplifier", "personnaliser", "global", "proximité",
        "répit", "épicerie", "transport", "horaire", "ouvert", "orienter", "navette", "guichet unique",
        "démarche", "adapter", "adapté", "individualisé", "service", "prix", "coût", "déplacer", "venir chercher",
    ),
    "rupture": (
        "désormais", "jusque ici", "auparavant", "au lieu de", "plutôt que", "premier", "inédit", "pionnier",
        "innovant", "nouveau", "expérimenter", "expérimentation", "rompre", "repenser", "réinventer",
        "traditionnel", "traditionnellement", "habituel", "habituellement", "classique", "autrement", "inverser",
        "décloisonner", "transversal", "transversalité", "original", "contrairement", "jusque alors",
        "changer de", "logique", "remplacer", "fin de", "sortir de", "plus seulement", "réinterroger",
    ),
    "changement_social": (
        "essaimer", "essaimage", "généraliser", "généralisation", "dupliquer", "pérenniser", "pérennisation",
        "étendre", "extension", "reprendre", "changement de échelle", "autonomie", "confiance", "retour à le emploi",
        "insertion", "lien social", "isolement", "transformer", "évoluer", "évolution", "regard", "pratique",
        "institutionnaliser", "intégrer", "schéma", "loi", "droit commun", "impact", "résultat", "effet",
        "réduire", "diminuer", "améliorer", "amélioration", "retrouver", "reprise", "modèle", "inspirer",
        "changer", "désormais", "depuis",
    ),
}
SOCIAL_CONTEXT_HITS = 4
"""Cue lemmas of the first four markers (people, place, decisions, access) that make a passage fully 'social'."""

_LEXICON_INDEX: dict[str, list[tuple[int, tuple[str, ...]]]] = {}
"""First lemma of a cue → (marker position, whole cue): one pass over a passage finds every cue."""
for _position, _cues in enumerate(LEXICON.values()):
    for _cue in _cues:
        _gram = tuple(_cue.split())
        _LEXICON_INDEX.setdefault(_gram[0], []).append((_position, _gram))


def lexicon_counts(lemmas: Sequence[str]) -> list[int]:
    """Occurrences of each marker's cue lemmas (single words and short phrases) in a lemma sequence."""
    counts = [0] * len(LEXICON)
    for i, lemma in enumerate(lemmas):
        for position, gram in _LEXICON_INDEX.get(lemma, ()):
            if len(gram) == 1 or tuple(lemmas[i : i + len(gram)]) == gram:
                counts[position] += 1
    return counts


NUMBER = "<num>"

# The French lemmatizer knows elided words with a straight apostrophe only ("d'" → "de"); with the typographic one
# that most web pages use ("d’") it leaves them as they are, and the same sheet would get two vocabularies.
ELISIONS = {
    "c'": "ce", "d'": "de", "j'": "je", "l'": "le", "m'": "me", "n'": "ne", "qu'": "que", "s'": "se", "t'": "te",
    "jusqu'": "jusque", "lorsqu'": "lorsque", "puisqu'": "puisque", "quoiqu'": "quoique", "presqu'": "presque",
}
ORDINALS = {"premier": "premier", "première": "premier", "premiers": "premier", "premières": "premier"}
"""spaCy counts "première" as a number; in "une première dans le département" it is a rupture cue."""

LEMMA_REPAIRS = {"non-recours": "non-recours", "recours": "recours"}
"""Words the lemmatizer mangles ("recours" → "recour") in vocabulary that matters here."""

CO_VERBS = (("constru", "construire"), ("conc", "concevoir"), ("conç", "concevoir"), ("anim", "animer"),
            ("pilot", "piloter"), ("gér", "gérer"), ("gèr", "gérer"), ("financ", "financer"), ("élabor", "élaborer"),
            ("écri", "écrire"), ("organis", "organiser"), ("décid", "décider"), ("rédig", "rédiger"),
            ("évalu", "évaluer"), ("cré", "créer"), ("défini", "définir"), ("port", "porter"))
_CO_WORD = re.compile(r"co-?((?:" + "|".join(stem for stem, _ in CO_VERBS) + r"|gest|décis|rédact)[a-zéèêàâîïôûç]*)")
_NOUN_ENDINGS = ("tion", "tions", "sion", "sions", "age", "ages", "ement", "ements", "eur", "eurs", "euse", "euses",
                 "ure", "ures", "ateur", "atrice", "atrices")

# ------------------------------------------------------------------------------------------- clause cues
# What a sentence *does* matters as much as its words: a change stated as fact is evidence of
# changement_social, the same verb in a purpose clause or in the future is not; inhabitants who are the subject
# of an action verb are evidence of beneficiaires, inhabitants who receive something are not. These counts
# come from spaCy's morphology and dependency parse, so they carry over from one writing style to another.

CLAUSE_CUES = ("effect", "changed_view", "aim", "public_acts")

EFFECT_VERBS = frozenset({
    "permettre", "contribuer", "favoriser", "transformer", "évoluer", "changer", "devenir", "améliorer",
    "renforcer", "réduire", "diminuer", "augmenter", "essaimer", "étendre", "généraliser", "pérenniser",
    "inspirer", "regagner", "retrouver", "multiplier", "modifier", "bouleverser", "reprendre", "adopter",
    "institutionnaliser", "dupliquer", "progresser", "doubler", "tripler", "rompre", "sortir",
})
CHANGE_VERBS = frozenset({"évoluer", "changer", "transformer", "modifier", "bouleverser", "revoir", "repenser",
                          "faire", "réinterroger", "questionner"})
VIEW_NOUNS = frozenset({"regard", "pratique", "posture", "relation", "représentation", "image", "culture",
                        "habitude", "comportement", "rapport", "manière", "façon", "mentalité"})
PUBLIC_NOUNS = frozenset({
    "habitant", "usager", "parent", "famille", "jeune", "senior", "résident", "locataire", "citoyen", "adhérent",
    "participant", "bénéficiaire", "retraité", "aidant", "mère", "père", "femme", "enfant", "élève", "personne",
    "public", "population", "bénévole", "demandeur", "salarié", "membre", "collectif",
})
PASSIVE_VERBS = frozenset({"bénéficier", "recevoir", "être", "avoir", "pouvoir", "devoir", "rester", "souffrir",
                           "vivre", "manquer", "subir", "attendre", "aller", "sembler", "orienter", "accueillir"})
TAKE_PART_VERBS = frozenset({"associer", "impliquer", "consulter", "mobiliser", "inviter", "élire", "former"})
CO_DESIGN_VERBS = frozenset({"co-construire", "construire", "élaborer", "concevoir", "définir",
                             "imaginer", "écrire", "rédiger", "décider", "choisir", "préparer", "organiser"})


def _is_realised(verb: Any) -> bool:
    """A finite indicative verb in the present or a past tense, or a past participle with its auxiliary."""
    morph = verb.morph
    if "Fin" in morph.get("VerbForm", []):
        return "Ind" in morph.get("Mood", []) and "Fut" not in morph.get("Tense", [])
    if "Part" in morph.get("VerbForm", []) and "Past" in morph.get("Tense", []):
        return any(child.dep_.startswith("aux") for child in verb.children)
    return False


def _stated_as_fact(verb: Any) -> bool:
    """The verb, or the finite verb its infinitive hangs on ("permet de faire évoluer"), is realised, and no
    purpose marker ("afin de", "pour") governs the chain in between."""
    for _ in range(4):
        if any(c.lemma_.lower() in ("afin", "pour") and c.dep_ in ("mark", "case") for c in verb.children):
            return False
        if "Inf" not in verb.morph.get("VerbForm", []) or verb.head.i == verb.i:
            return _is_realised(verb)
        verb = verb.head
    return False


def clause_cues(span: Span) -> dict[str, int]:
    """Counts of the clause cues of a passage (see :data:`CLAUSE_CUES`)."""
    counts = dict.fromkeys(CLAUSE_CUES, 0)
    for token in span:
        lemma = token.lemma_.lower()
        if token.pos_ in ("VERB", "AUX"):
            morph = token.morph
            if "Fut" in morph.get("Tense", []) or "Cnd" in morph.get("Mood", []):
                counts["aim"] += 1
            elif (lemma in EFFECT_VERBS or lemma in CHANGE_VERBS) and _stated_as_fact(token):
                # the parse chain is walked once per verb, for both cues
                if lemma in EFFECT_VERBS:
                    counts["effect"] += 1
                if lemma in CHANGE_VERBS and any(
                    c.lemma_.lower() in VIEW_NOUNS and c.dep_ in ("obj", "nsubj", "nsubj:pass")
                    for c in token.children
                ):
                    counts["changed_view"] += 1
        elif lemma in ("afin", "vise", "objectif", "but") or (
            lemma == "pour" and token.dep_ == "mark" and "Inf" in token.head.morph.get("VerbForm", [])
        ):
            counts["aim"] += 1
        if lemma in PUBLIC_NOUNS:
            head = token.head
            head_lemma = head.lemma_.lower()
            if token.dep_ == "nsubj" and head.pos_ == "VERB" and head_lemma not in PASSIVE_VERBS:
                counts["public_acts"] += 1
            elif token.dep_ in ("nsubj:pass", "nsubj") and head_lemma in TAKE_PART_VERBS:
                counts["public_acts"] += 1
            elif token.dep_.startswith("obl") and head_lemma in CO_DESIGN_VERBS and any(
                c.lower_ == "avec" for c in token.children
            ):
                counts["public_acts"] += 1
    return counts


@dataclass
class PassageFeatures:
    """Lemmas with their character offsets, the mean word vector, entity, signal and clause-cue counts of a
    passage."""

    lemmas: list[str]
    offsets: list[tuple[int, int]]
    vector: np.ndarray
    entities: dict[str, int] = field(default_factory=dict)
    signals: dict[str, int] = field(default_factory=dict)
    n_tokens: int = 0
    clauses: dict[str, int] = field(default_factory=dict)

    @property
    def lemma_text(self) -> str:
        return " ".join(self.lemmas)


def normalise_lemma(token: Any) -> str | None:
    """Lowercased lemma; numbers collapse to one symbol (ordinals stay words: "une première"); punctuation and
    spaces are dropped; elided words and "co-" compounds get one form whatever their spelling."""
    if token.is_space or token.is_punct:
        return None
    lower = token.lower_.replace("’", "'")
    if lower in ORDINALS:
        return ORDINALS[lower]
    if token.like_num or token.pos_ == "NUM":
        return NUMBER
    if lower in LEMMA_REPAIRS:
        return LEMMA_REPAIRS[lower]
    lemma = (token.lemma_ or token.text).lower().replace(" ", "_").replace("’", "'")
    return ELISIONS.get(lemma) or co_compound(lower, token.pos_ in ("VERB", "AUX")) or lemma


def co_compound(word: str, is_verb: bool = False) -> str | None:
    """One form for the "co-" words of participation, however they are spelt or conjugated: "coconstruisent",
    "co-construites" → "co-construire"; "co-animation", "coanimation" → "co-animation" (the lemmatizer does not
    know them and invents "co-construiter"). None for any other word."""
    match = _CO_WORD.fullmatch(word) if word.startswith("co") else None  # one test per token: keep it cheap
    if match is None:
        return None
    rest = match.group(1)
    if not is_verb and rest.endswith(_NOUN_ENDINGS):
        return "co-" + rest.removesuffix("s")
    verb = next((verb for stem, verb in CO_VERBS if rest.startswith(stem)), None)
    return "co-" + (verb or rest)


def featurize(span: Span, signals: Sequence[Signal] = (), offset: int = 0) -> PassageFeatures:
    """Features of a passage ``span`` whose document starts at ``offset`` in the source text."""
    lemmas: list[str] = []
    offsets: list[tuple[int, int]] = []
    content: list[int] = []
    for token in span:
        lemma = normalise_lemma(token)
        if lemma is None:
            continue
        lemmas.append(lemma)
        offsets.append((token.idx + offset, token.idx + len(token.text) + offset))
        if not token.is_stop:
            content.append(token.orth)
    table = span.doc.vocab.vectors
    width = span.doc.vocab.vectors_length or 1
    # one table lookup for the whole passage (words without a vector get row -1 and are left out)
    rows = table.find(keys=content) if content and table.size else np.zeros(0, dtype=int)
    rows = rows[rows >= 0]
    vector = (np.mean(table.data[rows], axis=0).astype(np.float32) if len(rows)
              else np.zeros(width, np.float32))
    entities: dict[str, int] = {}
    for ent in span.ents:
        entities[ent.label_] = entities.get(ent.label_, 0) + 1
    counts: dict[str, int] = {}
    for signal in signals:
        counts[signal.family] = counts.get(signal.family, 0) + 1
    return PassageFeatures(lemmas, offsets, vector, entities, counts, len(span), clause_cues(span))


# --------------------------------------------------------------------------------------------- transformers


def split_on_space(text: str) -> list[str]:
    """Tokenizer for lemma strings (module level so that fitted vectorizers pickle)."""
    return text.split()


class LemmaText(BaseEstimator, TransformerMixin):
    """Records → lemma strings, for a ``TfidfVectorizer``."""

    def fit(self, X: Sequence[PassageFeatures], y: Any = None) -> LemmaText:
        return self

    def transform(self, X: Sequence[PassageFeatures]) -> list[str]:
        return [record.lemma_text for record in X]


class DenseFeatures(BaseEstimator, TransformerMixin):
    """Records → a dense matrix: word vectors, entity counts, signal counts, length.

    ``parts`` picks the blocks, so that the evaluation can compare feature sets with one class.
    """

    def __init__(
        self, parts: tuple[str, ...] = ("vector", "entities", "signals", "lexicon", "social_signals", "length")
    ) -> None:
        self.parts = parts

    def fit(self, X: Sequence[PassageFeatures], y: Any = None) -> DenseFeatures:
        return self

    def transform(self, X: Sequence[PassageFeatures]) -> np.ndarray:
        rows = []
        for record in X:
            blocks: list[np.ndarray] = []
            if "vector" in self.parts:
                blocks.append(record.vector.astype(np.float64))
            if "entities" in self.parts:
                blocks.append(np.log1p([record.entities.get(label, 0) for label in ENTITY_LABELS]))
            if "signals" in self.parts:
                blocks.append(np.array([min(record.signals.get(f, 0), 3) for f in FAMILIES], dtype=np.float64))
            if "lexicon" in self.parts:
                counts = lexicon_counts(record.lemmas)
                blocks.append(np.log1p(counts).astype(np.float64))
                if "social_signals" in self.parts:
                    # a rupture cue weighs differently in a passage about social action than in an HR memo or
                    # a match report: the signal counts again, scaled by how much social-action vocabulary is
                    # around them (a linear model cannot form this interaction by itself)
                    social = min(1.0, sum(counts[:4]) / SOCIAL_CONTEXT_HITS)
                    blocks.append(np.array([min(record.signals.get(f, 0), 3) * social for f in FAMILIES]))
            if "clauses" in self.parts:
                blocks.append(np.log1p([record.clauses.get(cue, 0) for cue in CLAUSE_CUES]))
            if "length" in self.parts:
                blocks.append(np.array([np.log1p(record.n_tokens)]))
            rows.append(np.concatenate(blocks) if blocks else np.zeros(0))
        return np.vstack(rows) if rows else np.zeros((0, 0))

    def feature_names(self, width: int) -> list[str]:
        names: list[str] = []
        if "vector" in self.parts:
            names += [f"vector_{i}" for i in range(width)]
        if "entities" in self.parts:
            names += [f"entities_{label}" for label in ENTITY_LABELS]
        if "signals" in self.parts:
            names += [f"signal_{family}" for family in FAMILIES]
        if "lexicon" in self.parts:
            names += [f"lexicon_{label}" for label in LEXICON]
            if "social_signals" in self.parts:
                names += [f"signal_in_social_context_{family}" for family in FAMILIES]
        if "clauses" in self.parts:
            names += [f"clause_{cue}" for cue in CLAUSE_CUES]
        if "length" in self.parts:
            names.append("length")
        return names
