"""Training tools for mixai: synthetic multitrack material and the trainers that use it."""
