"""Web pages for membership."""
