//! Shared code of the benchmarks and the load harness.
