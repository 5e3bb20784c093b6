"""Planning: presets, tempo and the timeline of a session at integer frames.

Pure Python: nothing here imports numpy or anything above it."""
