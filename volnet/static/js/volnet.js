// volnet progressive enhancement (no build step).
