"""Playing live through PortAudio: the transport, the player and its backend seam."""
