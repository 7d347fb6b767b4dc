"""migration-guard: refuse live migrations that hit RHEL 9's documented limitations."""

__version__ = "0.1.0"

# The XML namespace of everything the project writes into a domain's <metadata>.
XMLNS = "https://migration-guard.dev/xmlns/1"
XMLNS_PREFIX = "mguard"
