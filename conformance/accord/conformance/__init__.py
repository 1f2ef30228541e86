"""accord.conformance: the shared suite that proves an adapter keeps the contract."""
