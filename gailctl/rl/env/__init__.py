"""The environment side: vectorised envs from the config, rendering, observation statistics, human play."""
