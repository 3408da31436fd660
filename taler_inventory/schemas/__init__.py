"""Marshmallow schemas: one module per resource, shared wire types in :mod:`.common`."""
