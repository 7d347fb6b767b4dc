"""Helpers that touch files, clocks and processes for every layer: trusted files, bounded
timers, the bundled structlog, and the decisions pending their outcome (docs/architecture.md)."""
