"""Host facts: the model, building it from libvirt documents, loading the cache."""
from .model import SCHEMA_VERSION, HostFacts  # noqa: F401
