"""Command-line interface: `eva <subcommand>`."""
