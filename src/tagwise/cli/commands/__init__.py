"""The CLI's commands, one module per command group.

The rule: ``tagwise <group> <command>`` lives in ``<group>.py`` (``tags``, ``customer``,
``sources``); a top-level command lives in the module of the step it belongs to, named
after that step: ``workspace.py`` (``init``, ``demo``), ``ingest.py`` (``ingest``,
``quarantine``), ``spec.py`` (``lint``, ``plan``, ``apply``), ``run.py`` (``run``,
``runs``), ``resolve.py`` and ``quality.py``. Each module has a ``register(app)``; the
options every command shares (``--json``, ``--limit``, ``--as-of`` dates, opening the
workspace) are in :mod:`tagwise.cli.options`. A command module may import another's
printer (``ingest`` prints the resolution it ran) but never in a circle.
"""
