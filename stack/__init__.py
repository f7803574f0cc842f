"""Local process orchestration: start, watch and stop the demo services."""
