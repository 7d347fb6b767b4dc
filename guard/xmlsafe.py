"""One hardened lxml parser for every XML document the guard reads.

No entity expansion, no DTD loading, no network, no huge trees, and an input size
cap: the hook reads XML that a remote libvirt sent, so an XXE or an entity bomb
must be refused, not expanded.
"""
from _thread import get_ident

from lxml import etree

from .errors import InputError

MAX_XML_BYTES = 16 * 1024 * 1024


_PARSERS = {}  # one parser per thread and kind: building one costs as much as parsing a small document


def _parser(drop_blanks=False):
    key = (get_ident(), drop_blanks)
    parser = _PARSERS.get(key)
    if parser is None:
        parser = _PARSERS[key] = _new_parser(drop_blanks)
    return parser


def _new_parser(drop_blanks):
    # lxml parsers must not be shared between threads (preflight collects in a pool).
    return etree.XMLParser(
        # Whitespace between elements, dropped where only the content is read: it is a third
        # of a domain XML's nodes, and a tenth of the decision's cost (bench/engine.py).
        remove_blank_text=drop_blanks,
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def parse_xml(data, what="XML", drop_blanks=False):
    """The root element of an XML document given as bytes or str; drop_blanks for
    documents that are read, never written back."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    if len(data) > MAX_XML_BYTES:
        raise InputError("%s is %d bytes, over the %d byte limit" % (what, len(data), MAX_XML_BYTES))
    if not data.strip():
        raise InputError("%s is empty" % what)
    try:
        root = etree.fromstring(data, _parser(drop_blanks))
    except etree.XMLSyntaxError as exc:
        raise InputError("%s is not well-formed: %s" % (what, str(exc).splitlines()[0]))
    except ValueError as exc:
        raise InputError("%s could not be read: %s" % (what, exc))
    # A DOCTYPE with an internal subset is how XXE and entity bombs arrive; no
    # libvirt document has one, so any DTD is refused outright.
    docinfo = root.getroottree().docinfo
    if docinfo.internalDTD is not None or docinfo.doctype:
        raise InputError("%s has a DOCTYPE declaration, which libvirt never writes; refused" % what)
    return root


def read_xml_file(path, what=None):
    what = what or path
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_XML_BYTES + 1)
    except OSError as exc:
        raise InputError("cannot read %s: %s" % (path, exc.strerror or exc))
    return parse_xml(data, what)


def text_of(element, path, default=None):
    """Stripped text of the first match of path under element, or default."""
    found = element.find(path) if element is not None else None
    if found is None or found.text is None:
        return default
    return found.text.strip()


def domain_element(root):
    """The <domain> element of a domain document or a <domstatus> status file (libvirt's
    /run/libvirt/qemu/NAME.xml): what guard.guest.domain reads and guard.guest.metadata stamps."""
    if root.tag == "domstatus":
        inner = root.find("domain")
        if inner is None:
            raise InputError("<domstatus> holds no <domain>")
        return inner
    if root.tag != "domain":
        raise InputError("expected a <domain> document, got <%s>" % root.tag)
    return root
