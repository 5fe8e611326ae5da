"""Ingestion: sources → validate → quarantine → standardize → customer keys."""
