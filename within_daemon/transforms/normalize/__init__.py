"""Platform rows -> normalized records: the ``DataNormalizer`` and one module per platform."""
