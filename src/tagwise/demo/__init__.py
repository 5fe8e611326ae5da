"""Synthetic retail data and the starter taxonomy for the Tagwise demo workspace."""
