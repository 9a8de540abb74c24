"""The training corpora: the recorded-music catalogue, excerpt corpora, and the layout they share."""
