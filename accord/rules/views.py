"""Web pages for rules."""
