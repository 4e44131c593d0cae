"""Readers and writers for `crm import` and `crm export`: csv, tsv, ndjson, json, xlsx.

Nothing here knows the database: readers turn bytes into rows of (where, values) and
`columns` says which field each column feeds; writers turn machine rows into files. The
repository decides what the values mean (fields.py) and what to store.
"""
