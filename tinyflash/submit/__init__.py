"""``tinyflash submit``: an MLPerf Tiny submission tree measured by the official runner and judged by
the official checker (issue #12). Library API: :func:`tinyflash.submit.flow.submit`."""
