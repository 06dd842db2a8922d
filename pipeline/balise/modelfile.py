"""Saving and loading trained models, with a JSON model card beside each file.

A pickle can run code when it is loaded, so the model file's SHA-256 is checked against its card before
``joblib.load`` ever sees it.
"""
from __future__ import annotations

import hashlib
import json
import os
import platform
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from .errors import ModelIntegrityError, ModelNotFoundError

DEFAULT_NAME = "balise-markers"
MODEL_SUFFIX = ".joblib"
CARD_SUFFIX = ".json"


@dataclass
class ModelBundle:
    """What a model file holds: the classifier and how it was made."""

    classifier: Any
    spacy_model: str
    name: str
    version: str


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def library_versions() -> dict[str, str]:
    import joblib
    import numpy
    import scipy
    import sklearn
    import spacy

    return {
        "python": platform.python_version(),
        "spacy": spacy.__version__,
        "scikit-learn": sklearn.__version__,
        "numpy": numpy.__version__,
        "scipy": scipy.__version__,
        "joblib": joblib.__version__,
    }


def bundled_model_dir() -> Path:
    """The folder of models shipped inside the package (``models/`` in the source tree)."""
    return Path(str(resources.files("balise.models")))


def resolve(name_or_path: str | os.PathLike[str] | None) -> tuple[Path, Path]:
    """Paths of the model file and its card for a name (bundled model), a file or a folder."""
    if name_or_path is None:
        name_or_path = DEFAULT_NAME
    path = Path(name_or_path)
    if path.is_dir():
        candidates = sorted(path.glob(f"*{MODEL_SUFFIX}"))
        if not candidates:
            raise ModelNotFoundError(f"no {MODEL_SUFFIX} model file in folder {path}")
        path = candidates[0]
    elif not path.exists():
        bundled = bundled_model_dir() / f"{path.name.removesuffix(MODEL_SUFFIX)}{MODEL_SUFFIX}"
        if not bundled.exists():
            raise ModelNotFoundError(
                f"no model named or at '{name_or_path}' (bundled models: "
                f"{', '.join(p.stem for p in bundled_model_dir().glob('*' + MODEL_SUFFIX)) or 'none'})"
            )
        path = bundled
    card = path.with_suffix(CARD_SUFFIX)
    return path, card


def read_card(card_path: Path) -> dict[str, Any]:
    try:
        return json.loads(card_path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ModelIntegrityError(f"model card {card_path} is missing: cannot verify the model file") from exc
    except json.JSONDecodeError as exc:
        raise ModelIntegrityError(f"model card {card_path} is not valid JSON") from exc


def load_bundle(name_or_path: str | os.PathLike[str] | None = None) -> tuple[ModelBundle, dict[str, Any]]:
    """Verify then unpickle a model; returns the bundle and its card."""
    import joblib

    model_path, card_path = resolve(name_or_path)
    card = read_card(card_path)
    expected = card.get("sha256")
    if not expected:
        raise ModelIntegrityError(f"model card {card_path} records no sha256")
    actual = sha256_file(model_path)
    if actual != expected:
        raise ModelIntegrityError(
            f"{model_path} does not match its model card (sha256 {actual[:12]}… != {expected[:12]}…); "
            "refusing to unpickle it. Rebuild it with `balise train` or reinstall balise."
        )
    bundle = joblib.load(model_path)
    if not isinstance(bundle, ModelBundle):
        raise ModelIntegrityError(f"{model_path} does not hold a balise model")
    return bundle, card


def save_bundle(bundle: ModelBundle, folder: str | os.PathLike[str], card: dict[str, Any]) -> tuple[Path, Path]:
    """Write the model file and its card atomically; the card gets the file's SHA-256."""
    import joblib

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    model_path = folder / f"{bundle.name}{MODEL_SUFFIX}"
    card_path = folder / f"{bundle.name}{CARD_SUFFIX}"
    with tempfile.NamedTemporaryFile(dir=folder, suffix=".tmp", delete=False) as tmp:
        tmp_path = Path(tmp.name)
    try:
        joblib.dump(bundle, tmp_path, compress=3)
        tmp_path.chmod(0o644)  # temporary files are private; a model is meant to be read by every user
        os.replace(tmp_path, model_path)
    finally:
        tmp_path.unlink(missing_ok=True)
    card = {**card, "name": bundle.name, "version": bundle.version, "spacy_model": bundle.spacy_model,
            "file": model_path.name, "sha256": sha256_file(model_path), "libraries": library_versions()}
    tmp_card = card_path.with_suffix(".json.tmp")
    tmp_card.write_text(json.dumps(card, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp_card, card_path)
    return model_path, card_path
