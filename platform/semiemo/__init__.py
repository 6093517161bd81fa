"""semiemo: semi-supervised multimodal speech emotion recognition on Ray."""
__version__ = "0.1.0"
