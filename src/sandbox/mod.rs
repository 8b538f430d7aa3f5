//! A local emulator of the four payment providers (DESIGN.md §8).
