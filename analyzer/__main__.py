"""``python -m analyzer`` runs the CLI."""

from .cli import main

# Guarded: ingest's worker processes are spawned, and each imports the main module again.
if __name__ == "__main__":
    main()
