"""The store layer: models, migrations, the audit chain and opening a database.

Import its modules (``vigil.store.db``, ``vigil.store.models``...) by name: this package
imports none of them, so that reading ``vigil.store.constants`` at start-up costs nothing.
"""
