"""`make demo`: the offline check demo (the two-host live demo runs when available)."""
import sys

from . import offline

sys.exit(offline.main())
