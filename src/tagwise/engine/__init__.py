"""Execution: the engine interface (``base``), one adapter per engine (``duckdb``,
``postgres``, ``spark``) found through :mod:`~tagwise.engine.registry`, and the run
(``pipeline``). What they run is compiled engine-neutrally in :mod:`tagwise.compile`."""
