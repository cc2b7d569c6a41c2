"""Performance indicators: target tables, rules, roll-up, scoring and the year-end self-evaluation."""
