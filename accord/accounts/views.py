"""Web pages for accounts."""
