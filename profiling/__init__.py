"""profiling stage of moralgap."""
