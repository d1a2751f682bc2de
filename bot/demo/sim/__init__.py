"""Simulated Slack, LivePerson and LiveChat, served over loopback HTTP.

The demo runs the real clients against them; the tests and benchmarks use them as
fakes, with faults (429, 5xx, garbage, slowness) injected per path.
"""
