"""The query model and its one runner: specs (registered once), the compose and condition scorers, and
adapters applied to vectors."""
