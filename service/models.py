"""ORM models. The one-map layers come from the layer catalog; the case tables are declared here."""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase

from gis.catalog import catalog, metadata

catalog()  # registers every layer table on the shared metadata


class Base(DeclarativeBase):
    """Declarative base sharing the one schema with the layer catalog."""

    metadata = metadata
