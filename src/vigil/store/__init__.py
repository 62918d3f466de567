"""The store layer: models, migrations, the audit chain and opening a database."""

from vigil.store.db import Actor, Store, store_from_env

__all__ = ["Actor", "Store", "store_from_env"]
