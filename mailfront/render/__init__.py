"""
Renderers: registry records to the bytes each client family expects.

Nothing here imports Twisted; every renderer can be called and tested without
a request.
"""
