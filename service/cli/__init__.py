"""The `landwindow` command."""
