"""The guest model: the incoming domain XML parsed into immutable records (domain), its
metadata (fingerprint, exemptions, waivers), and the host resources it names (docs/architecture.md)."""
