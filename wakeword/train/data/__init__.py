"""What training is made of: voices and the clips they say, sound-alike phrases, background recordings, and the
mixing of all of these into labelled windows."""
