"""alignment stage of moralgap."""
