"""Everything that touches the outside world: files, the command line, later stores and buses."""
