"""Small helpers shared by every layer: array checks, decibels, atomic writes, integer checks."""
