"""MISP core JSON: events in (``importer.import_event``), reports out
(``exporter.export_event``). The mapping is documented in docs/misp.md."""
