"""Database operations: one module per operation group, never aware of HTTP."""
