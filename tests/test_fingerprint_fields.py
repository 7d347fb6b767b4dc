"""Fields added to the source fingerprint after version 1 (guard.facts.fingerprint.LATER_FIELDS) leave
every stamp written and signed before them exactly as it was."""
import hashlib
import hmac
import json

from support.helpers import debian12_facts, source_like

from guard.facts.fingerprint import LATER_FIELDS, fingerprint_from_data
from guard.guest.metadata import fingerprint_json, signature_of, signed, verified

KEY = b"k" * 32
UUID = "8f99e332-06c4-463a-9099-330fb244e1b3"


def version_1_signature(fingerprint):
    """The signature as guards before LATER_FIELDS computed it: over every field they knew."""
    data = {k: v for k, v in fingerprint.to_dict().items() if k != "signature" and k not in LATER_FIELDS}
    message = "%s\n%s" % (json.dumps(data, sort_keys=True, separators=(",", ":")), UUID)
    return "hmac-sha256:" + hmac.new(KEY, message.encode(), hashlib.sha256).hexdigest()


def test_an_unset_later_field_changes_neither_the_json_nor_the_signature():
    fingerprint = source_like(debian12_facts())
    assert fingerprint.vgpu_driver is None
    assert "vgpu_driver" not in fingerprint_json(fingerprint)
    assert signature_of(fingerprint, UUID, KEY) == version_1_signature(fingerprint)


def test_a_stamp_signed_before_the_field_verifies_and_one_with_it_is_bound_to_it():
    old = source_like(debian12_facts())._replace(signature=None)
    old = old._replace(signature=version_1_signature(old))
    stored = fingerprint_from_data(json.loads(fingerprint_json(old)))
    assert verified(stored, UUID, KEY)[0] is not None
    new = signed(source_like(debian12_facts(), vgpu_driver="550.54.16"), UUID, KEY)
    text = fingerprint_json(new)
    assert '"vgpu_driver":"550.54.16"' in text
    assert verified(fingerprint_from_data(json.loads(text)), UUID, KEY)[0] is not None
    forged = fingerprint_from_data(json.loads(text.replace("550.54.16", "535.104.06")))
    assert verified(forged, UUID, KEY)[0] is None


def test_only_a_guest_with_an_mdev_carries_the_vgpu_driver():
    from support.helpers import minimal_guest

    from guard.facts.fingerprint import fingerprint_for
    from guard.facts.model import LocalFacts
    from guard.guest.domain import parse_domain
    facts = debian12_facts()._replace(local=LocalFacts(vgpu_driver="550.54.16"))
    plain = parse_domain(minimal_guest())
    vgpu = parse_domain(minimal_guest(extra="<hostdev mode='subsystem' type='mdev' model='vfio-pci'><source>"
                                            "<address uuid='d069d019-36ea-4111-8f0a-8c9a70e21366'/></source></hostdev>"))
    assert fingerprint_for(facts, plain).vgpu_driver is None
    assert fingerprint_for(facts, None).vgpu_driver is None
    assert fingerprint_for(facts, vgpu).vgpu_driver == "550.54.16"


def test_the_mellanox_vfs_are_signed_with_the_rest():
    mlx5 = (("0000:03:00.1", "MT_0000000834", "28.39.1002"),)
    old = source_like(debian12_facts())
    assert "mlx5_vfs" not in fingerprint_json(old)
    assert signature_of(old, UUID, KEY) == version_1_signature(old)
    text = fingerprint_json(signed(source_like(debian12_facts(), mlx5_vfs=mlx5), UUID, KEY))
    stored = fingerprint_from_data(json.loads(text))
    assert stored.mlx5_vfs == mlx5 and verified(stored, UUID, KEY)[0] is not None
    forged = fingerprint_from_data(json.loads(text.replace("28.39.1002", "28.36.1010")))
    assert verified(forged, UUID, KEY)[0] is None
