"""Command-line interface (typer), built from the registry."""
