"""Level-1C reading and Level-2A product writing."""
