"""Publishing and archiving a course."""
