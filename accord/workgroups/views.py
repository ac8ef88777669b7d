"""Web pages for workgroups."""
