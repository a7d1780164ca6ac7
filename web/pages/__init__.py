"""The server-rendered pages, one module per audience or task."""
