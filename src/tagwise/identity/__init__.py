"""Identity resolution: who is who among the customer master's records.

The package is split by topic (see docs/identity.md):

* :mod:`~tagwise.identity.layout` — the ``ident`` schema's tables and their upgrade;
* :mod:`~tagwise.identity.graph` — identifiers, caps, links and connected components;
* :mod:`~tagwise.identity.golden` — the golden record (survivorship) and its lineage;
* :mod:`~tagwise.identity.decisions` — people's merge / separate decisions and the events;
* :mod:`~tagwise.identity.store` — every read of the identity tables, as typed results;
* :mod:`~tagwise.identity.resolve` — one resolution, start to end;
* :mod:`~tagwise.identity.matching` — probabilistic matching with splink, with its
  :mod:`~tagwise.identity.standardize` and :mod:`~tagwise.identity.statistics`, and the
  Spark dialect derived by :mod:`~tagwise.identity.dialect`'s tree transforms.

Nothing outside this package reads or writes an ``ident`` table.
"""
