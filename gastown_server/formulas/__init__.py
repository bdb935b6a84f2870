"""formulas domain."""
