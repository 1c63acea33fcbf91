"""Third-party sources of the TFLM runtime: the pinned manifest (west.yml), the west workspace that
holds them, local mirrors for offline machines, and finding an existing checkout.

Library API: :mod:`tinyflash.deps.manifest`, :mod:`tinyflash.deps.mirror`, :mod:`tinyflash.deps.workspace`,
:mod:`tinyflash.deps.sources`. :mod:`tinyflash.cli.deps` is the ``tinyflash deps`` command (not API).
"""
