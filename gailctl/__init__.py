"""gailctl: train experts, record demonstrations, run GAIL and evaluate policies from YAML configs."""

__version__ = "0.1.0"
