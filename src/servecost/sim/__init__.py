"""Discrete-event simulation of a serving fleet: workload -> router -> continuous-batching replicas."""
