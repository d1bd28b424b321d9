"""The tiny run config the system and sweep tests share (one compile per test process)."""

TINY = {
    "env": {"max_steps_in_episode": 20},
    "ppo": {
        "n_envs": 4,
        "n_steps": 16,
        "batch_size": 32,
        "n_epochs": 1,
        "total_timesteps": 16 * 64,  # 16 updates of 64 steps
        "net_arch": {"pi": [8], "vf": [8]},
    },
    "system": {
        "eval_freq": 128,  # every 2 updates
        "checkpoint_freq": 256,  # every 4 updates
        "n_eval_episodes": 4,
        "heuristics": ["random"],
        "progress": False,
        "verbose": False,
        "async_checkpointing": False,
    },
}
