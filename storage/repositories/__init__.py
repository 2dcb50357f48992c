"""Repositories: the queries of one concept each, run inside a unit of work's session.

They are the only code that builds SQL (import-linter keeps sqlalchemy and storage.models out
of the other packages). A repository may hand out the rows it read; a caller that names a row
type imports it from the repository that hands it out, never from storage.models."""
