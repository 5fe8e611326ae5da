"""Alembic migrations of the catalog; run by :func:`tagwise.store.catalog.migrate`."""
