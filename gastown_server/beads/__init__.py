"""beads domain."""
