"""Administrative dongs and tongs."""
