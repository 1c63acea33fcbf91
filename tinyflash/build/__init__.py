"""Build: the generated project -> ELF/BIN/HEX/map through SCons and arm-none-eabi-gcc."""
