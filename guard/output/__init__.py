"""What was decided, written out: the report, the audit record and log, the journal, and
the escaping of tenant values for all of them (docs/architecture.md)."""
