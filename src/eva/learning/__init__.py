"""Learning: torch models (generator, inverse), datasets from babbling bags, training and evaluation."""
