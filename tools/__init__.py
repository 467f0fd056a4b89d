"""Build, benchmark and maintenance scripts (importable as `tools.*` from the repository root)."""
