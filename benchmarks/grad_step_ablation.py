"""Where a PPO gradient step's time goes at the seed configuration's minibatch (64 rows).

    python benchmarks/grad_step_ablation.py [--config configs/default.yaml] [--repeats 5]

Times `num_minibatches` gradient steps of the real network and PPO loss in one jitted
`lax.scan` (random minibatches, so no rollout), with four optimiser variants, interleaved:
- `shipped`: `agentic_jax.ppo.apply_gradients` (global-norm clip folded into Adam);
- `shipped_unroll2`: the same with `lax.scan(unroll=2)`;
- `adam_no_clip`: optax's `scale_by_adam` without the clip;
- `grad_sgd`: the gradient with a plain SGD step (the matmul-bound floor of a step).
Prints the median milliseconds per gradient step. The difference between the rows is the
optimiser's share; compare `grad_sgd` with `benchmarks/train_throughput.py`'s epochs ceiling.
"""

from __future__ import annotations

import argparse
import statistics
import time

import jax
import jax.numpy as jnp
import optax

from agentic_jax.config import load
from agentic_jax.ppo import apply_gradients, make_init, ppo_loss
from agentic_jax.ppo.optimizer import ADAM_B1, ADAM_B2, ADAM_EPS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="configs/default.yaml")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    cfg = load(args.config).ppo
    env, params = load(args.config).env.make_env()
    train_state = make_init(cfg, env, params)(jax.random.PRNGKey(0)).train_state
    n, b = cfg.num_minibatches, cfg.batch_size
    obs_dim = train_state.params["params"]["pi_body"]["Dense_0"]["kernel"].shape[0]
    action_dim = train_state.params["params"]["log_std"].shape[0]
    k1, k2, k3 = jax.random.split(jax.random.PRNGKey(1), 3)
    minibatches = {
        "obs": jax.random.normal(k1, (n, b, obs_dim)),
        "actions": jax.random.normal(k2, (n, b, action_dim)),
        "log_probs": jnp.zeros((n, b)),
        "values": jnp.zeros((n, b)),
        "advantages": jax.random.normal(k3, (n, b)),
        "returns": jnp.ones((n, b)),
    }
    grad = jax.value_and_grad(
        lambda p, m: ppo_loss(p, train_state.apply_fn, m, clip_range=0.2, clip_range_vf=None,
                              ent_coef=0.0, vf_coef=0.5),
        has_aux=True,
    )

    def shipped(state, mbs, unroll=1):
        def step(s, m):
            return apply_gradients(s, grad(s.params, m)[1], 3e-4, 0.5), None

        return jax.lax.scan(step, state, mbs, unroll=unroll)[0]

    adam = optax.scale_by_adam(b1=ADAM_B1, b2=ADAM_B2, eps=ADAM_EPS)  # same state as the shipped

    def adam_no_clip(state, mbs):
        def step(s, m):
            updates, opt = adam.update(grad(s.params, m)[1], s.opt_state, s.params)
            new = jax.tree.map(lambda p, u: p - 3e-4 * u, s.params, updates)
            return s.replace(params=new, opt_state=opt), None

        return jax.lax.scan(step, state, mbs)[0]

    def grad_sgd(state, mbs):
        def step(p, m):
            return jax.tree.map(lambda x, g: x - 1e-4 * g, p, grad(p, m)[1]), None

        return jax.lax.scan(step, state.params, mbs)[0]

    variants = {
        "shipped": jax.jit(shipped),
        "shipped_unroll2": jax.jit(lambda s, m: shipped(s, m, 2)),
        "adam_no_clip": jax.jit(adam_no_clip),
        "grad_sgd": jax.jit(grad_sgd),
    }
    for fn in variants.values():
        jax.block_until_ready(fn(train_state, minibatches))
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(args.repeats):
        for name, fn in variants.items():
            start = time.perf_counter()
            jax.block_until_ready(fn(train_state, minibatches))
            times[name].append(time.perf_counter() - start)
    print(f"{args.config}: {n} gradient steps of batch {b}, medians of {args.repeats}")
    for name, t in times.items():
        print(f"{name:16s} {statistics.median(t) * 1e3 / n:.3f} ms/step")


if __name__ == "__main__":
    main()
