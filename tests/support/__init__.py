"""Test helpers shared by unit and integration tests: a fake device, a .tflite writer, synthetic layers."""
