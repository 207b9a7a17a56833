"""The HTTP request path every API connector shares.

``client`` (``HttpSource``: one request loop), ``waits`` (pauses, pacing, outage budgets),
``pacing``, ``breaker``, ``oauth``, ``bodies`` (bounded reads), ``json_stream``, ``clock``
and ``settings``. Nothing here knows a platform: each platform's package under ``sources/``
builds on it.
"""
