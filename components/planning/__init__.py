"""Capacity, cost and autoscaling simulation: pure functions of a StackSpec (no Pulumi, no I/O
except the plot and the CLI)."""
