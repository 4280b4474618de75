"""The ClassMood dashboard: a Dash + Plotly app that reads the monitor's aggregates from the database.

It talks to the worker only through the database (``db.queries``, ``db.export``), so it never imports ``monitor``,
``models`` or TensorFlow and starts in about a second. Run it with ``python -m dashboard``.
"""
