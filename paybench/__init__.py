"""The ``paybench`` command line: one entry point over the harness (``loadtests``), the
reports (``reports``), shadow traffic (``shadow``) and the contract export."""
