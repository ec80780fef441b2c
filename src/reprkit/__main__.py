"""``python -m reprkit`` runs the command-line interface."""

from __future__ import annotations

from reprkit.cli.app import main

if __name__ == "__main__":
    main()
