"""Third-party code the RPM carries itself, kept out of the system's import path.

RHEL 9 and EPEL 9 have no python3-structlog (Fedora last built it for F36, EPEL only for
EL7), so the RPM bundles one pinned version (packaging/bundled.txt) under
/usr/share/migration-guard/bundled. That folder is appended to sys.path only when no
structlog can be imported otherwise, and only by the collector service, which is the only
user: a system copy, when there is one, always wins, and nothing else sees ours.
"""
import os
import sys

# Relative to this file, so that the same install works in a scratch root: the package
# lives in PREFIX/lib/pythonX.Y/site-packages/guard (this file in its runtime/), the bundle in
# PREFIX/share/migration-guard.
BUNDLED_DIR = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                            "..", "..", "..", "..", "..", "share", "migration-guard", "bundled"))


def import_structlog(bundled_dir=BUNDLED_DIR):
    """The system's structlog if there is one, else the bundled copy."""
    try:
        import structlog
    except ImportError:
        if not os.path.isdir(os.path.join(bundled_dir, "structlog")):
            raise
        if bundled_dir not in sys.path:
            sys.path.append(bundled_dir)  # last: never shadows anything installed
        import structlog
    return structlog
