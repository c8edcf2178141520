"""``pcids serve``: a web page for alloy designers and an HTTP API for lab tools, in one local server.

:func:`pcids.serve.app.create_app` builds the FastAPI app; the page lives in
``static/`` (hand-written HTML, JS and CSS, nothing loaded from the internet).
Needs the ``serve`` extra (``pip install pcids[serve]``).
"""
