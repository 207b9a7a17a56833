"""The database's table definitions and migrations, in the spelling of each SQL dialect.

The bottom of ``loaders/``: DDL, column lists and the ordered migration list, built from the
record schemas (``within_daemon.schema``) and the enrichments' column lists. Nothing here
opens a connection or imports the data access above it (``database``, ``backends``,
``rows``), so the loader, the feature store and the migrations can all read the tables
without importing each other.
"""
