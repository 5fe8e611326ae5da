"""Tags as code: YAML specs, their models, loading and checks."""
