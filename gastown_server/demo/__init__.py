"""The README's main command: the demo town (``python -m gastown_server.demo``).

``town.py`` builds a town with the sample rig (``sample_rig/``, shipped as
package data), files the demo convoy (``work.py``), slings it to three
script-runtime polecats and waits for the Refinery to land it.
``ledger.py`` is the older ledger-only tour (``--ledger``).
"""
