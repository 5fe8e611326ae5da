"""Compute engines and the batch pipeline: features → rules → values."""
