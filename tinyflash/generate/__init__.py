"""Generation: board + model + runtime -> a self-contained benchmark application source tree."""
