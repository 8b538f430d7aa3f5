//! Durable checkpoints of runs, steps, attempts and events (DESIGN.md §4).
