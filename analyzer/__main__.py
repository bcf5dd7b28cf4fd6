"""``python -m analyzer`` runs the CLI."""

from .cli import main

main()
