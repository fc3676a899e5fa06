"""Small Function Apps used to test the local runtime (each module builds a fresh app)."""
