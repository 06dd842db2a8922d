"""Trained balise models and their model cards (shipped inside the package as ``balise.models``)."""
