"""The mastering model: damage that real bad masters have, its examples, the network and its training."""
