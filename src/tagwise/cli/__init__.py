"""The ``tagwise`` command line (Typer + rich)."""
