"""orderlog read models."""
