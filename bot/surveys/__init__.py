"""Survey responses in MaestroQA's format.

Ingestion, the `ingested` source, detractor alerts and forwarding to MaestroQA.
"""
