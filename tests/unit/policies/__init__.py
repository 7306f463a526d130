"""One test module per shipped shop policy: each clause of the seed, driven through the service."""
