"""The annotation scheme: six passage labels and four rupture-signal families.

IDs are fixed by the label contract (``corpora/codebook.md``); every other module takes them from here.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .errors import InvalidInputError


@dataclass(frozen=True)
class Marker:
    """One passage label of the Institut Godin grid as used by balise."""

    id: str
    name: str
    definition: str


MARKERS: tuple[Marker, ...] = (
    Marker(
        "beneficiaires",
        "Place des bénéficiaires",
        "Les bénéficiaires, usagers ou habitants sont acteurs du projet : ils identifient le besoin, conçoivent, "
        "animent, décident ou évaluent la réponse.",
    ),
    Marker(
        "ancrage_territorial",
        "Ancrage territorial",
        "Le projet part de besoins ou d'un diagnostic locaux, mobilise des acteurs et ressources du territoire, "
        "est adapté à ses spécificités ou contribue à son développement.",
    ),
    Marker(
        "gouvernance",
        "Gouvernance",
        "Les décisions sont partagées : gouvernance multi-acteurs, démocratique, participative ou coopérative où "
        "usagers, salariés, bénévoles, habitants ou partenaires ont réellement voix au chapitre.",
    ),
    Marker(
        "accessibilite_service",
        "Logiques d'accessibilité et de service",
        "La réponse est construite pour que les personnes puissent réellement y accéder (gratuité, aller-vers, "
        "simplification) et comme un service pensé autour de leurs usages réels.",
    ),
    Marker(
        "rupture",
        "Rupture avec l'existant",
        "Le passage montre que le projet rompt avec la manière habituelle de faire dans son contexte : ancienne "
        "pratique et nouvelle pratique, ou une première contextualisée.",
    ),
    Marker(
        "changement_social",
        "Capacité de changement social",
        "Le projet change les choses au-delà de ses réalisations immédiates (personnes, organisations, "
        "territoires, institutions) ou essaime, est repris ou généralisé.",
    ),
)

LABELS: tuple[str, ...] = tuple(m.id for m in MARKERS)
"""Label IDs in their canonical order."""

LABEL_NAMES: dict[str, str] = {m.id: m.name for m in MARKERS}

SIGNAL_FAMILIES: dict[str, str] = {
    "contrast": "Contraste avant / après (jusqu'ici… désormais, au lieu de, plutôt que, ne plus… mais)",
    "rupture_verb": "Verbe de rupture (rompre avec, en finir avec, sortir de la logique de, repenser…)",
    "first": "Première (pour la première fois, une première, inédit, pionnier, sans équivalent)",
    "shift": "Changement de paradigme nommé (du faire pour au faire avec…)",
}


def sort_labels(labels: Iterable[str]) -> list[str]:
    """Return ``labels`` deduplicated in canonical order; raise ``InvalidInputError`` on an unknown ID."""
    wanted = set(labels)
    unknown = wanted - set(LABELS)
    if unknown:
        raise InvalidInputError(f"unknown label id(s): {', '.join(sorted(unknown))}; expected {', '.join(LABELS)}")
    return [label for label in LABELS if label in wanted]
