"""The application's core: settings, the database and embedded PostGIS, ORM models, domain errors, audit log."""
