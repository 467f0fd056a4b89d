"""Benchmarks: build times against stock Jupyter Book, the Genz study, chapters on a GPU."""
