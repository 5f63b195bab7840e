"""annotation stage of moralgap."""
