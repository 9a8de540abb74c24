"""The stem-mixing model: damaged stems, their examples and the network's training."""
