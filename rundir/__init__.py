"""The run directory's format: file names, trial folders, CSV columns and typed JSON
documents, with the one writer and the one reader of each file.

Every producer (``loadtests``, ``shadow``, the test fixtures) writes, and every consumer
(``reports``, notebooks) reads, through this package. It imports the standard library
only, and this ``__init__`` nothing at all: the load generator's processes (gevent-patched)
import ``rundir.samples`` and ``rundir.layout`` to write their samples.

- ``rundir.layout``: the tree, file names and the trial folder name
- ``rundir.samples``: the CSV columns of ``samples.csv.gz`` and ``resources.csv``
- ``rundir.trial``: ``trial.json`` (``TrialMeta``)
- ``rundir.config``: ``config.json`` (``RunDoc``, and ``ShadowRunDoc`` of a shadow run)
- ``rundir.files``: ``environment.json``, ``gateway_ledger.json``, ``results.json``
- ``rundir.jsondoc``: the typed-document machinery and the JSON writer and reader
"""
