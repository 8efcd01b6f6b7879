"""Operators' tools for the kitchen display, not used at run time: the end-to-end load benchmark
(`python -m kitchen_display.tools.bench_kds`)."""
