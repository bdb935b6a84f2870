"""``gt dashboard``: a live web view of the town (aiohttp, server-sent events, server-drawn SVG).

See docs/dashboard.md.  ``server`` (the aiohttp app, routing, errors),
``pages`` (one function per page over the domain functions), ``live``
(the feed-fed hub and its SSE tabs), ``auth`` (token, Host check, CSRF),
``actions`` (write actions, off by default), ``charts`` (SVG), ``html``.
"""
