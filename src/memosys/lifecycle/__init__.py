"""The memory lifecycle: states, versions and time travel, snapshots, and verified forgetting."""
