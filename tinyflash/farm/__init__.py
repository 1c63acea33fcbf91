"""The device farm: an inventory of physical units, a matrix of jobs, a night of runs.

``inventory`` (which units exist: twister's hardware map) and ``matrix`` (what to run: boards x models x
runtimes) are kept apart. ``runner`` builds every distinct firmware, then runs jobs -- one at a time per
unit, units in parallel -- through :mod:`tinyflash.pipeline`. The night's JSON is the source of truth;
``records`` parses it once into typed records that ``junit``, ``render`` (Markdown, HTML with inline SVG)
and ``regressions`` read, and ``history`` keeps nights in SQLite (checked before a night runs). Jobs carry
the ``Board`` their matrix was checked against. Nothing here imports labgrid (see ``labgrid_unit``, which
hands out ``lease.Lease`` values).
"""
