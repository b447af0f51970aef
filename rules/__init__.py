"""The admin rules: schema, loader and shipped presets."""
