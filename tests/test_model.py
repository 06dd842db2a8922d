"""Model files: verified before unpickling, refused on mismatch; the estimator contract holds."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

import balise
from balise.classifier import KeywordBaseline, MarkerClassifier, MarkerEnsemble, tune_thresholds_f1
from balise.errors import BaliseError, ModelIntegrityError, ModelNotFoundError
from balise.features import PassageFeatures
from balise.modelfile import bundled_model_dir, sha256_file


def test_bundled_model_card_matches_file():
    card = json.loads((bundled_model_dir() / "balise-markers.json").read_text(encoding="utf-8"))
    assert card["sha256"] == sha256_file(bundled_model_dir() / "balise-markers.joblib")
    assert card["labels"] == list(balise.LABELS)
    assert card["training_data"]["sha256"] and card["libraries"]["scikit-learn"]
    assert "dev" in card["metrics"]


def test_tampered_model_is_refused(tmp_path):
    for name in ("balise-markers.joblib", "balise-markers.json"):
        shutil.copy(bundled_model_dir() / name, tmp_path / name)
    with open(tmp_path / "balise-markers.joblib", "ab") as handle:
        handle.write(b"\x00")
    with pytest.raises(ModelIntegrityError, match="refusing to unpickle"):
        balise.load(tmp_path)


def test_model_without_card_is_refused(tmp_path):
    shutil.copy(bundled_model_dir() / "balise-markers.joblib", tmp_path / "m.joblib")
    with pytest.raises(ModelIntegrityError, match="missing"):
        balise.load(tmp_path / "m.joblib")


def test_unknown_model_name():
    with pytest.raises(ModelNotFoundError):
        balise.load("no-such-model")
    assert issubclass(ModelNotFoundError, BaliseError)


def _record(words, vector_value=0.0):
    return PassageFeatures(words, [(i, i + 1) for i in range(len(words))], np.full(4, vector_value, np.float32),
                           {}, {}, len(words))


def _toy_data():
    rng = np.random.default_rng(0)
    vocab = ["habitant", "quartier", "vote", "gratuit", "désormais", "essaimer", "match", "météo", "prix", "club"]
    X, Y = [], []
    for i in range(120):
        label = i % 6
        words = [vocab[label], vocab[(label + 1) % 6]] + list(rng.choice(vocab[6:], 3))
        X.append(_record(words, float(label)))
        row = [0] * 6
        row[label] = 1
        Y.append(row)
    return X, np.array(Y)


def test_estimator_contract_and_determinism():
    X, Y = _toy_data()
    model = MarkerClassifier(threshold_folds=3, min_df=1)
    assert model.get_params()["C"] == 4.0
    model.fit(X, Y)
    proba = model.predict_proba(X)
    assert proba.shape == (120, 6) and ((proba >= 0) & (proba <= 1)).all()
    assert (model.predict(X) == Y).mean() > 0.9
    again = MarkerClassifier(threshold_folds=3, min_df=1).fit(X, Y)
    assert np.allclose(again.predict_proba(X), proba)
    weights = model.explain(X[0], 0)
    assert weights and all(w > 0 for _, _, w in weights)


def test_ensemble_is_the_mean_of_its_views_and_explains_like_them():
    X, Y = _toy_data()
    views = (MarkerClassifier(dense_parts=("entities", "signals", "length"), min_df=1),
             MarkerClassifier(dense_parts=("vector", "length"), min_df=1))
    model = MarkerEnsemble(members=views, threshold_folds=3).fit(X, Y)
    assert len(model.members_) == 2 and model.oof_proba_.shape == Y.shape
    proba, rows = model.predict_proba_with_rows(X)
    assert np.allclose(proba, np.mean([m.predict_proba(X) for m in model.members_], axis=0))
    assert (model.predict(X) == Y).mean() > 0.9
    again = MarkerEnsemble(members=views, threshold_folds=3).fit(X, Y)
    assert np.allclose(again.predict_proba(X), proba) and np.allclose(again.thresholds_, model.thresholds_)
    label = int(np.argmax(Y[0]))
    weights = model.explain(X[0], label, row=rows[0])
    assert weights and weights == model.explain(X[0], label)
    assert {(s, e) for s, e, _ in weights} <= {(s, e) for m in model.members_ for s, e, _ in m.explain(X[0], label)}


def test_threshold_tuning_picks_the_separating_value():
    Y = np.array([[1], [1], [0], [0]])
    proba = np.array([[0.8], [0.7], [0.3], [0.2]])
    threshold = tune_thresholds_f1(Y, proba)[0]
    assert 0.3 < threshold <= 0.7


def test_keyword_baseline():
    baseline = KeywordBaseline().fit([])
    out = baseline.predict([_record(["le", "gouvernance", "de", "le", "projet"]), _record(["match"])])
    assert out[0, 2] == 1 and out[1].sum() == 0


def test_clause_cues_read_tense_purpose_and_agency(nlp):
    """Stated change counts as an effect, the same verb after "afin de" or in the future counts as an aim;
    inhabitants who run something act, inhabitants who receive something do not."""
    from balise.features import clause_cues

    def cues(text):
        return clause_cues(nlp(text)[:])

    stated = cues("La démarche fait évoluer les pratiques des travailleurs sociaux du quartier.")
    aimed = cues("Afin de faire évoluer les pratiques des travailleurs sociaux, le centre organise des formations.")
    future = cues("Le dispositif permettra aux familles de retrouver un emploi.")
    assert stated["effect"] >= 1 and stated["changed_view"] == 1 and stated["aim"] == 0
    assert aimed["effect"] == 0 and aimed["changed_view"] == 0 and aimed["aim"] >= 1
    assert future["effect"] == 0 and future["aim"] >= 1
    assert cues("Des retraités bénévoles animent les ateliers de lecture.")["public_acts"] == 1
    assert cues("Les familles bénéficient d'un colis chaque semaine.")["public_acts"] == 0


def test_typographic_and_straight_apostrophes_give_the_same_lemmas(nlp):
    """Web pages mostly use ’, the training corpus mostly '; both must reach the classifier as one vocabulary."""
    from balise.features import featurize

    straight = "Afin d'améliorer l'accueil, l'association s'appuie sur ce qu'ils savent jusqu'à l'été."
    curly = straight.replace("'", "’")
    assert featurize(nlp(curly)[:]).lemmas == featurize(nlp(straight)[:]).lemmas
    assert "de" in featurize(nlp(curly)[:]).lemmas


def test_participation_words_get_one_lemma_whatever_the_spelling(nlp):
    """The lemmatizer does not know "co-" verbs ("co-construites" → "co-construiter"); each spelling would be a
    feature of its own and the cue lexicon would never match them."""
    from balise.features import LEXICON, featurize, lexicon_counts

    def lemmas(text):
        return featurize(nlp(text)[:]).lemmas

    assert "co-construire" in lemmas("Les actions sont co-construites avec les familles.")
    assert "co-construire" in lemmas("Les habitants coconstruisent le projet.")
    assert "co-animer" in lemmas("Les parents co-animent les ateliers du mercredi.")
    assert "co-construction" in lemmas("La coconstruction du service a pris un an.")
    assert lemmas("la commune et la coordination") == ["le", "commune", "et", "le", "coordination"]
    # ordinals are words, not numbers: "une première" is a rupture cue
    assert "premier" in lemmas("C'est une première dans le département.")
    peers = featurize(nlp("Des pairs-aidants et la pair-aidance.")[:])
    assert lexicon_counts(peers.lemmas)[list(LEXICON).index("beneficiaires")] >= 3


@pytest.mark.parametrize("label, text", [
    ("beneficiaires", "Des pairs-aidants animent le groupe."),
    ("beneficiaires", "Les jeunes gèrent eux-mêmes le local."),
    ("gouvernance", "Le copilotage associe les locataires."),
    ("accessibilite_service", "Il lutte contre le non-recours aux droits."),
    ("accessibilite_service", "Chacun reçoit un suivi personnalisé."),
    ("rupture", "C'est une première dans le département."),
])
def test_cues_once_dead_reach_the_lexicon(nlp, label, text):
    """Cues that were written in a form the lemmatizer never produces ("pair-aidance", "personnalisé") and so
    never counted."""
    from balise.features import LEXICON, featurize, lexicon_counts

    assert lexicon_counts(featurize(nlp(text)[:]).lemmas)[list(LEXICON).index(label)] >= 1
