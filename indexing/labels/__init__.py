"""Relevance labelling: the label store, judging pools, TREC files, metrics, and what judgments teach
(the calibrated cut-off and learned adapters)."""
