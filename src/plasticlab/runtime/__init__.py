"""Run-time services shared by every study: seeding, checkpoints, provenance, logging, I/O."""
