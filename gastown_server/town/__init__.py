"""town domain."""
