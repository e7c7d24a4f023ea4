"""What every process needs and no domain code owns: settings read from the environment once,
the log format and each line's job context, the Prometheus series, and the messages one
process sends another through the broker. It imports nothing of ours."""
