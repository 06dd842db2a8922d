"""Rupture-signal rules: each family, structure, and the false friends the codebook excludes."""
from __future__ import annotations

import pytest

from balise.signals import SignalDetector, signals_of


@pytest.fixture(scope="module")
def find(nlp):
    detector = SignalDetector(nlp.vocab)

    def run(text):
        return [(s.text, s.family) for s in signals_of(detector(nlp(text)))]

    return run


@pytest.mark.parametrize("text, expected", [
    ("Jusqu'ici, les aînés devaient venir au CCAS ; désormais une équipe passe dans les hameaux.",
     [("Jusqu'ici", "contrast"), ("désormais", "contrast")]),
    ("Au lieu d'attendre les demandes, les agents vont au-devant des familles.", [("Au lieu d'", "contrast")]),
    ("Les usagers ne sont plus de simples bénéficiaires mais des acteurs du projet.",
     [("ne sont plus", "contrast")]),
    ("Le centre social rompt avec la logique de guichet.", [("rompt avec", "rupture_verb")]),
    ("Il faut en finir avec les files d'attente et repenser l'accueil.",
     [("en finir avec", "rupture_verb"), ("repenser", "rupture_verb")]),
    ("Pour la première fois dans le département, un CCAS ouvre une halte de répit.",
     [("Pour la première fois", "first")]),
    ("C'est une première en Picardie : un dispositif inédit et pionnier.",
     [("une première", "first"), ("inédit", "first"), ("pionnier", "first")]),
    ("L'association est passée du faire pour au faire avec.", [("du faire pour au faire avec", "shift")]),
])
def test_signals_found(find, text, expected):
    assert find(text) == expected


@pytest.mark.parametrize("text", [
    "La salariée a signé une rupture conventionnelle avec son employeur.",
    "Le magasin annonce une rupture de stock sur les masques.",
    "Ces jeunes en rupture familiale sont hébergés par le foyer.",
    "Un nouveau directeur a pris ses fonctions dans les nouveaux locaux ; la nouvelle édition aura lieu en mai.",
    "Une première réunion a eu lieu mardi.",
    "L'éditeur publie un roman inédit de l'autrice.",
    "Il ne reste plus de places pour le concert.",
    "La start-up lance une solution innovante et révolutionnaire.",
])
def test_false_friends_are_not_signals(find, text):
    assert find(text) == []
