"""Data sources (see chapter 1)."""
