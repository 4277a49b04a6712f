"""Stock engine: demand distributions, service measures, inventory policies."""
