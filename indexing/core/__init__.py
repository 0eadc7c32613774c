"""The ground floor: errors, settings, progress callbacks and the ranking arithmetic every layer shares."""
