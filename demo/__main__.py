"""`make demo`: two real hosts and live migrations as root; the offline check demo otherwise."""
import sys

from . import live, offline

reason = live.unavailable()
if reason:
    print("(the live two-host demo needs root and libvirt: %s;\n run `sudo make demo` for it. "
          "Showing the offline check demo.)\n" % reason)
    sys.exit(offline.main())
sys.exit(live.main())
