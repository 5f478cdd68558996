"""Quality objectives and KPIs (质量目标 / 指标), docs/adr/0047."""
