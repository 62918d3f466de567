"""The store layer: models, migrations, the audit chain and opening a database."""

from vigil.store.db import Actor, Store

__all__ = ["Actor", "Store"]
