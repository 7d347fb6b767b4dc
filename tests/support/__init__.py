"""What the tests share: libvirt documents and hosts from the corpus (helpers, rulecase,
rulehosts), a fleet on libvirt's test driver (fleet), and real libvirt hosts in mount
namespaces (harness). Importable as `support.X`: pytest puts tests/ on the path for its
conftest.py, so no test inserts paths of its own."""
