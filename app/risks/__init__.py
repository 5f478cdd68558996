"""The risk-point register (服务风险点): service risks, their reviews and linked objects."""
