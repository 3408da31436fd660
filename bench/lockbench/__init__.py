"""Pieces of the lock benchmark (``bench/locks.py``)."""
