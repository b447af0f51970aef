"""Where data comes from and goes to: one protocol per extension point."""
