"""Sizes and durations as libvirt and the config file write them.

libvirt's units follow virScaleInteger: "KB" is 1000 but "K" and "KiB" are 1024
(formatdomain.html, "memory"). The config accepts the same spellings plus spaces.
"""
import re

from .errors import ConfigError, InputError

_LIBVIRT_SCALE = {
    "b": 1, "bytes": 1,
    "k": 1024, "kib": 1024, "kb": 1000,
    "m": 1024 ** 2, "mib": 1024 ** 2, "mb": 1000 ** 2,
    "g": 1024 ** 3, "gib": 1024 ** 3, "gb": 1000 ** 3,
    "t": 1024 ** 4, "tib": 1024 ** 4, "tb": 1000 ** 4,
    "p": 1024 ** 5, "pib": 1024 ** 5, "pb": 1000 ** 5,
    "e": 1024 ** 6, "eib": 1024 ** 6, "eb": 1000 ** 6,
}

# Compiled on first use: compiling a pattern costs more than the hook's whole decision,
# and the hook parses no size or duration unless the config names one.
_SIZE = r"^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$"
_DURATION_PART = r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*"
_DURATION = r"^\s*(?:%s)+$" % _DURATION_PART
_DURATION_SCALE = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def libvirt_bytes(value, unit, default_unit="KiB"):
    """Bytes of a libvirt <memory unit='...'>N</memory> style value."""
    try:
        number = int(value.strip())
    except (AttributeError, ValueError):
        raise InputError("not a whole number: %r" % (value,))
    scale = _LIBVIRT_SCALE.get((unit or default_unit).strip().lower())
    if scale is None:
        raise InputError("unknown unit %r" % (unit,))
    return number * scale


def parse_size(text, key="size"):
    """Bytes of a config size such as "1 TiB", "512 GiB", "1 TB" or "100MiB"."""
    match = re.match(_SIZE, str(text))
    scale = _LIBVIRT_SCALE.get(match.group(2).lower() or "b") if match else None
    if scale is None:
        raise ConfigError("%s: %r is not a size (say e.g. \"1 TiB\", \"512 GiB\", \"1 TB\")" % (key, text))
    return int(float(match.group(1)) * scale)


def parse_duration(text, key="duration"):
    """Seconds of a duration such as "30m", "24h", "300ms", or compound: "1h30m", "2d 12h"."""
    if not re.match(_DURATION, str(text)):
        raise ConfigError("%s: %r is not a duration (say e.g. \"300ms\", \"10s\", \"30m\", \"1h30m\", \"24h\")"
                          % (key, text))
    return sum(float(number) * _DURATION_SCALE[unit] for number, unit in re.findall(_DURATION_PART, str(text)))


def decimal_size_note(text, key="size"):
    """A note when a size uses a decimal unit: libvirt's (and so our) "TB" is 10^12 bytes,
    not the 2^40 many mean by it; None for IEC units and plain bytes."""
    match = re.match(_SIZE, str(text))
    unit = match.group(2) if match else ""
    if not unit or unit.lower() not in ("kb", "mb", "gb", "tb", "pb", "eb"):
        return None
    value = parse_size(text, key)
    return ("%s = %r is %d bytes (%s): %s is decimal, as in libvirt; write \"%s %s\" for %s" % (
        key, text, value, format_bytes(value), unit, match.group(1), unit[0].upper() + "iB",
        "2^%d" % (10 * ("kmgtpe".index(unit[0].lower()) + 1))))


_IEC = (("TiB", 1024 ** 4), ("GiB", 1024 ** 3), ("MiB", 1024 ** 2), ("KiB", 1024))


def _format(count, decimals):
    for unit, scale in _IEC:
        if count >= scale:
            text = ("%.*f" % (decimals, count / scale)).rstrip("0").rstrip(".")
            return "%s %s" % (text, unit)
    return "%d B" % count


def format_bytes(count):
    """Human form with IEC units, as administrators read memory sizes: "5 GiB", "5.5 GiB"."""
    return _format(count, 1)


def format_sizes(*counts):
    """Several sizes to be compared, with just enough decimals that different sizes never
    read alike ("5 GiB > 5 GiB" is no comparison)."""
    for decimals in (1, 2, 3):
        texts = [_format(c, decimals) for c in counts]
        if len(set(texts)) == len(set(counts)):
            return texts
    return ["%d B" % c for c in counts]


def format_duration(seconds):
    for unit, scale in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= scale and seconds % scale == 0:
            return "%d%s" % (seconds // scale, unit)
    return "%gs" % seconds


def format_time(epoch):
    """The one way every command prints a moment: ISO 8601 in UTC, to the second, with Z
    ("2026-12-02T12:45:07Z"), as the audit records write it (they add milliseconds)."""
    import time  # printing only
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))
