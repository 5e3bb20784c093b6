"""Playing live through PortAudio: the transport, the player and its backend seam, and the
controls that steer it (the terminal's keys, MPRIS for headset buttons and media keys)."""
