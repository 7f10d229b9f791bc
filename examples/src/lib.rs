//! Shared helpers for the runnable examples in this folder (see `examples/README.md`).
