"""Persistence: the catalog (SQLAlchemy) and the warehouse (DuckDB)."""
