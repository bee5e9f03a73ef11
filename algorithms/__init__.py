"""Processing algorithms and the `sen2cor` provider (thin layer over `core`)."""
