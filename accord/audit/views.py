"""Web pages for audit."""
