"""Audiences: what is done with a segment's members once they are known.

The bitmap index (``tagwise.index``) answers *who*; this package holds what follows:
the holdout split (``holdout.py``), overlap between segments (``overlap.py``), the member
lists written to files (``export.py``, with the columns read in bulk by ``columns.py``),
frozen member lists (``snapshot.py``) and why one customer is in or out (``explain.py``).
The ``Workspace`` methods wire these to the stores and stay thin.
"""
