"""Metrics and the report writer (metrics.json, results.md, plots, env.json, config.json, log)."""
