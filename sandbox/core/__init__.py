"""What both simulators share: the scenario, the clock, faults, TLS material and the server seam."""
