"""The services the shells run: the collector and its outcome loop, stamping, the
pre-flight and its evacuation plan, activation, status and metrics (docs/architecture.md)."""
