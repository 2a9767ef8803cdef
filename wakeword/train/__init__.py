"""Training pipeline (needs the `train` extra): recipe → voices → clips → mixed windows → features → Keras
model → streaming TFLite export → evaluation. Run it with `wakeword train RECIPE.yaml`."""
