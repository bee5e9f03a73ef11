"""The four Sen2Cor GIPP files and the one typed parameter model built from them."""
