"""Generate the sample PDF activity report used by the README quick start.

Why this script exists: balise must extract passages from PDF reports (CCAS/CIAS
activity reports are often published only as PDF), so the quick-start samples in
corpora/samples/ need one small PDF with a real text layer. The report is an
invented, original text written for the project. Keeping the generator in the
repository makes the PDF reproducible and lets anyone read or edit its text.

It writes corpora/samples/rapport-activite-cias-2025.pdf with fpdf2 and the
Helvetica core font. Core fonts only cover latin-1, so the text uses straight
apostrophes and no characters outside ISO-8859-1 (no euro sign, no oe ligature).

Usage:
    /work/venv/bin/pip install fpdf2
    /work/venv/bin/python scripts/make_sample_pdf.py
"""

from datetime import datetime, timezone
from pathlib import Path

from fpdf import FPDF

REPO_ROOT = Path(__file__).resolve().parent.parent
OUTPUT = REPO_ROOT / "corpora" / "samples" / "rapport-activite-cias-2025.pdf"

TITLE = "CIAS de la Vallée de l'Airaines"
SUBTITLE = "Rapport d'activité 2025"

# (heading, paragraph) pairs; a heading of None continues the previous section.
SECTIONS = [
    ("Le mot du président",
     "L'année 2025 aura été pour notre centre intercommunal d'action sociale une année "
     "riche, exigeante et résolument tournée vers l'avenir. Je tiens à remercier "
     "l'ensemble des agents, des bénévoles et des élus pour leur engagement sans faille "
     "au service des habitants de nos vingt-quatre communes."),
    ("Présentation du CIAS",
     "Le CIAS intervient sur les vingt-quatre communes de la communauté de communes, "
     "soit 13 800 habitants, dont 27 % ont plus de 65 ans. Il emploie 52 agents "
     "(44,6 ETP) et dispose d'un budget de fonctionnement de 3,1 millions d'euros, "
     "réparti entre le service d'aide et d'accompagnement à domicile (SAAD), le "
     "portage de repas, l'accueil social et le transport solidaire."),
    ("Service d'aide à domicile : des équipes de secteur",
     "Jusqu'en 2024, les plannings des 38 aides à domicile étaient établis chaque "
     "semaine depuis le siège d'Airaines, et une même personne pouvait voir passer six "
     "ou sept intervenantes différentes dans le mois. Depuis mars 2025, quatre équipes "
     "de secteur organisent elles-mêmes leurs tournées et leurs remplacements, avec "
     "l'appui d'une infirmière coordinatrice. Chaque personne aidée est désormais suivie "
     "par deux ou trois intervenantes qu'elle connaît, et les aides à domicile "
     "participent aux réévaluations des plans d'aide avec l'équipe médico-sociale."),
    (None,
     "Les premiers effets sont nets : le taux d'absentéisme du service est passé de 14 % "
     "à 8 % en un an, aucune démission n'a été enregistrée depuis le mois de juin, et "
     "deux aides à domicile ont engagé une formation d'assistante de soins en "
     "gérontologie. Le CIAS du Ponthieu, venu observer l'organisation au printemps, a "
     "mis en place le même fonctionnement dans ses deux secteurs en octobre 2025."),
    ("Transport solidaire",
     "Le transport solidaire repose sur 19 chauffeurs bénévoles domiciliés dans onze "
     "communes du territoire, qui conduisent avec leur propre véhicule les habitants "
     "sans moyen de locomotion vers leurs rendez-vous médicaux, leurs courses ou leurs "
     "démarches. La participation demandée est de 0,35 euro par kilomètre, plafonnée à "
     "10 euros par trajet, et la réservation se fait par téléphone la veille, auprès de "
     "l'accueil du CIAS ou de la mairie de la commune. En 2025, 1 640 trajets ont été "
     "réalisés."),
    ("Comité des usagers",
     "Installé en janvier 2025, le comité des usagers réunit huit personnes "
     "accompagnées, deux aidants familiaux, deux agents et le vice-président chargé de "
     "l'action sociale. Il se réunit quatre fois par an et ses avis sont votés à la "
     "majorité. C'est sur sa proposition que le portage de repas est assuré le samedi "
     "depuis septembre, avec un menu choisi chaque mois par les membres du comité."),
    ("Portage de repas",
     "Les repas sont préparés par la cuisine du collège d'Airaines, qui a ouvert ses "
     "fourneaux au CIAS pendant les vacances scolaires, et les légumes proviennent de "
     "la légumerie d'insertion de Hallencourt. 41 200 repas ont été livrés à 212 "
     "bénéficiaires au cours de l'année."),
    ("Accueil social et aides facultatives",
     "L'accueil social a reçu 2 310 personnes. 412 demandes d'aide facultative ont été "
     "instruites, dont 356 accordées, pour un montant total de 61 800 euros. Le CIAS "
     "assure par ailleurs 96 domiciliations administratives."),
    ("Perspectives 2026",
     "Le CIAS souhaite poursuivre la modernisation de ses outils, renforcer la "
     "communication auprès des habitants et développer de nouveaux partenariats. Le "
     "déploiement d'un nouveau logiciel de gestion des plannings est prévu au second "
     "semestre."),
    ("Remerciements",
     "Le CIAS remercie ses partenaires : le Conseil départemental de la Somme, la "
     "CARSAT Nord-Picardie, la MSA Picardie, la CAF de la Somme, l'ARS Hauts-de-France "
     "et la conférence des financeurs de la prévention de la perte d'autonomie."),
]


def check_latin1(text):
    """Fail early if a string holds a character the core fonts cannot draw."""
    text.encode("latin-1")
    return text


def add_header_block(pdf):
    """Write the report title and subtitle at the top of the first page."""
    pdf.set_font("Helvetica", style="B", size=18)
    pdf.cell(0, 10, check_latin1(TITLE), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=13)
    pdf.cell(0, 8, check_latin1(SUBTITLE), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)


def add_section(pdf, heading, paragraph):
    """Write an optional heading followed by one justified paragraph."""
    if heading:
        pdf.set_font("Helvetica", style="B", size=12)
        pdf.cell(0, 8, check_latin1(heading), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=11)
    pdf.multi_cell(0, 6.5, check_latin1(paragraph), align="J",
                   new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)


def build_pdf(output=OUTPUT):
    """Build the sample report and save it to `output`; return the page count."""
    pdf = FPDF(format="A4")
    pdf.set_margins(left=22, top=20, right=22)
    pdf.set_auto_page_break(auto=True, margin=22)
    pdf.set_title(SUBTITLE + " - " + TITLE)
    pdf.set_author(TITLE)
    # A fixed date keeps the output identical from one run to the next.
    pdf.set_creation_date(datetime(2026, 2, 16, 9, 0, tzinfo=timezone.utc))
    pdf.add_page()
    add_header_block(pdf)
    for heading, paragraph in SECTIONS:
        add_section(pdf, heading, paragraph)
    pages = pdf.page_no()
    output.parent.mkdir(parents=True, exist_ok=True)
    pdf.output(str(output))
    return pages


def main():
    pages = build_pdf()
    print(f"wrote {OUTPUT.relative_to(REPO_ROOT)} ({pages} pages)")


if __name__ == "__main__":
    main()
