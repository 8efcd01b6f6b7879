"""Operators' tools around the scheduler, not used by the app at run time: the store simulator
(`python -m core_native.tools.simulate`) and its scenario files, the benchmark (`python -m
core_native.tools.bench`) and the optimality check against CP-SAT (`python -m core_native.tools.optimal`)."""
