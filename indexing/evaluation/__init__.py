"""Measuring SimLab: the evaluate tasks, the model check's probes, and readers of the published GeneCIS, CIRR
and FashionIQ annotation files."""
