"""``python -m balise`` is the ``balise`` command."""
from .cli import main

main()
