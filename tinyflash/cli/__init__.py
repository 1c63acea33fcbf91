"""The command line. Not API: scripts should call tinyflash.pipeline and friends."""
