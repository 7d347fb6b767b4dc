"""Version comparison in the rpmvercmp manner: digit runs compare as numbers, letter runs
as text, and a digit run is newer than a letter run ("5.14.0-362.el9" vs "5.14.0-70.el9")."""
import re

_SEGMENT = r"(\d+|[A-Za-z]+)"  # compiled (and cached by re) on first use, not at import


def _segments(version):
    return [int(s) if s.isdigit() else s for s in re.findall(_SEGMENT, version or "")]


def compare_versions(left, right):
    """-1, 0 or 1 as left is older than, equal to or newer than right."""
    a, b = _segments(left), _segments(right)
    for x, y in zip(a, b):
        if x == y:
            continue
        if isinstance(x, int) and isinstance(y, int):
            return -1 if x < y else 1
        if isinstance(x, int):
            return 1
        if isinstance(y, int):
            return -1
        return -1 if x < y else 1
    if len(a) == len(b):
        return 0
    return -1 if len(a) < len(b) else 1
