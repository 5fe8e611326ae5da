"""Domain model: frozen value classes shared by the layers; imports nothing from Tagwise."""
