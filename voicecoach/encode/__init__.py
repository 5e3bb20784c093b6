"""Writing a session to an audio file: formats, streaming, chapters and tags."""
