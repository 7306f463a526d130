"""orderlog domain."""
