"""taxonomy stage of moralgap."""
