"""Label page pieces: who judges, the judging card, metrics, transfer, and what judgments taught."""
