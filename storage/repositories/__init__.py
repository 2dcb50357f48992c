"""Repositories: the queries of one concept each, run inside a unit of work's session."""
