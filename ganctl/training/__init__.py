"""The training engine shared by every plugin."""
