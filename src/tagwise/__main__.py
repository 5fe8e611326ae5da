"""``python -m tagwise`` runs the command line."""

from __future__ import annotations

from tagwise.cli.app import main

main()
