"""Placeholder until the command line lands in this same change."""
def main(argv=None):
    return 0
