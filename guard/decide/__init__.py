"""The pure decision: decide(Inputs) -> Outcome (core), the rules run over a Context
(engine), the policy, and what became of a migration (outcome). No I/O (docs/architecture.md)."""
