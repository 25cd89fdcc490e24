"""Monte Carlo engines of the digital twin: finance, service queues, process, supply chain, workforce.

Each engine is plain numpy (numba where it pays) and Dagster-free; every random draw comes
from a ``numpy.random.Generator`` passed in, so the same seed gives bit-identical results.
"""
