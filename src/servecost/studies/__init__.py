"""Studies built on plan's search: usage sizing, the batch tier, power-capped planning, the
three-year outlook, and the Monte Carlo over uncertain inputs."""
