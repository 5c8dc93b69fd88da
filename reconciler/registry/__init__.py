"""Ownership: the markers on records and rules, and every "is this ours" question.

Pure, as the TXT registry of external-dns is: what marks a record or rule as ours
(:mod:`.ownership`), read and written in one place.
"""
