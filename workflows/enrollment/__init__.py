"""Setting up an enrollment after admission."""
