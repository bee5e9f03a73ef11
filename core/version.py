"""Version numbers: of this software, and of the Sen2Cor release whose interface it follows."""
PLUGIN_VERSION = "0.1.0"
SEN2COR_VERSION = "2.11"          # configuration files, command line and product of this release
SEN2COR_GIPP_VERSION = "02.11.00"  # Idp_Sc_Version of the processing-baseline GIPP
