"""What the guard prints, made safe from the values it quotes: the one place every text
and JSON writer escapes them (the hook's refusal lines, check, preflight, audit, status,
metrics, the audit log).

A tenant names the guest and writes its XML and <metadata>, and the guard quotes those
values. A control character among them could forge a line (a newline, NEL, U+2028), drive
the terminal (ESC, or the C1 control U+009B CSI, which terminals take for ESC [) or
reorder what is shown (the bidi embeddings, overrides and isolates U+202A-U+202E and
U+2066-U+2069, the marks U+200E, U+200F and U+061C). Escaped, each shows as \\x9b or
\\u202e: the value stays recognisable and nothing acts on it.

Unsafe is what Python does not call printable: C0 and C1 controls and DEL, format
characters (the bidi ones among them), line and paragraph separators, spaces other than
" " (a no-break space can pass for a column gap), surrogates, private-use and unassigned
code points. Letters of every script are printable: "gäst-Ωmega" is shown as it is.
str.isprintable is one pass in C, so a safe value (nearly every one) costs next to nothing.
"""
import json
import re


def _escape(char):
    code = ord(char)
    if code < 0x100:
        return "\\x%02x" % code
    return "\\u%04x" % code if code < 0x10000 else "\\U%08x" % code


def text(value):
    """str(value) with every unsafe character escaped (\\x0a, \\x9b, \\u202e): printable,
    one line. What is safe already comes back unchanged, so escaping twice is harmless."""
    value = str(value)
    if value.isprintable():
        return value
    return "".join(c if c.isprintable() else _escape(c) for c in value)


def word(value):
    """A value for a table cell: escaped, and quoted as a shell word when it is empty or
    has a space or a quote, so that one value is one cell ("'gpu07  allow'")."""
    value = text(value)
    if not value or " " in value or "'" in value or '"' in value:
        import shlex  # not for the hook, which has no table
        return shlex.quote(value)
    return value


def shell_word(value):
    """value as one word for a POSIX shell that a terminal shows as it is: shlex.quote when
    every character is printable, else bash's $'...' with the unsafe ones escaped (a
    newline or U+009B inside '...' would still reach the terminal)."""
    import shlex  # not for the hook, which prints no command
    value = str(value)
    if value.isprintable():
        return shlex.quote(value)
    return "$'%s'" % "".join(_shell_escape(c) for c in value)


def _shell_escape(char):
    if char in "\\'":
        return "\\" + char
    if char.isprintable():
        return char
    code = ord(char)
    # bash's \xHH is a byte, not a character: beyond ASCII, \u and \U (the locale's encoding).
    if code < 0x80:
        return "\\x%02x" % code
    return "\\u%04x" % code if code < 0x10000 else "\\U%08x" % code


# In valid JSON a raw character below U+0020 can only be whitespace between tokens (json
# escapes them in strings; json.loads refuses them there): a tab or a carriage return,
# which could move the cursor back over a line, becomes a space; a newline stays (an
# indented document's lines). Anything from DEL up can be in a string: escaped if unsafe.
# (Negated: a class up to U+10FFFF takes milliseconds to compile, and the hook imports this;
# compiled on first use, by re's cache: a tenth of a millisecond most hook runs never need.)
_JSON_SUSPECT = "[^\x00-\x08\n\x0b\x0c\x0e-\x7e]"


def _json_escape(match):
    char = match.group()
    if char in "\t\r":
        return " "
    if char.isprintable():
        return char
    code = ord(char)
    if code < 0x10000:
        return "\\u%04x" % code
    code -= 0x10000  # JSON has no \U: a surrogate pair
    return "\\u%04x\\u%04x" % (0xd800 + (code >> 10), 0xdc00 + (code & 0x3ff))


def json_text(encoded):
    """JSON text (json.dumps with ensure_ascii=False, or a line read back from the audit
    log) with every unsafe character written as a \\uXXXX escape: the same data to a
    parser, nothing raw for a terminal."""
    if encoded.isascii() and "\x7f" not in encoded and "\t" not in encoded and "\r" not in encoded:
        return encoded
    return re.sub(_JSON_SUSPECT, _json_escape, encoded)


def dumps(data, readable=False, **kwargs):
    """JSON text of data with no unsafe character raw; kwargs as json.dumps takes them.

    For programs (check and preflight --format json, status, the pre-flight's batch
    answers), readable=False: ASCII, json.dumps's default, which escapes every character
    beyond ASCII (C1 and bidi ones included) as \\uXXXX; an ASCII line cannot fail on a
    terminal's or a pipe's encoding, and what programs already parse is unchanged. For
    the audit log, which people read as well (less, grep, `audit --format json`),
    readable=True: UTF-8, names in any script as they are and only the unsafe characters
    escaped (json.dumps with ensure_ascii=False alone would leave those raw)."""
    if not readable:
        return json.dumps(data, **kwargs)
    return json_text(json.dumps(data, ensure_ascii=False, **kwargs))
