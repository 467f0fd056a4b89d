"""Code shared by the book's chapters, the exercises and the grader.

Everything that more than one of them needs lives here once: the Genz test
functions, the notebook set-up, small data sets.
"""
