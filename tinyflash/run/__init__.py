"""Run: talking to a started board over its UART with the MLPerf Tiny protocol."""
