"""The segment index: roaring bitmaps over the dense customer id, following the tag
store's change feed, and segment evaluation on it (``bitmap`` → ``storage`` → ``follow``
→ ``evaluate`` → ``segments``)."""
