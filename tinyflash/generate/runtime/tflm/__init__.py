"""TensorFlow Lite Micro behind tf_runtime.h: op resolver, arena measurement, shared library spec."""
