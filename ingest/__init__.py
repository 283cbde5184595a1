"""Ingest, store, publish and take down: everything that writes an archive."""

import logging

# A library logs; the application decides where (the CLI's --log FILE). Nothing reaches stderr unasked.
logging.getLogger(__name__).addHandler(logging.NullHandler())
