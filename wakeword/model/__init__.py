"""Models: the step-model geometry, model cards, interpreter choice and the streaming runner."""
