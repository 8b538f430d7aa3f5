//! sluice's integration tests: one binary, real HTTP on loopback, real SQLite files.
mod sandbox;
