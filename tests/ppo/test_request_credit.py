"""Credit for collaboration requests (`ppo.request_credit`): the head's log-probs in parts,
per-agent GAE, the split loss against NumPy, validation, and updates; and the requests'
cross-entropy towards their better one-step choice (`ppo.request_model_coef`)."""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentic_jax.env import MultiAgentTaskEnvironment
from agentic_jax.ppo import (
    PPOConfig,
    better_requests,
    compute_gae,
    make_collect,
    make_init,
    make_update,
    ppo_loss_terms,
    request_advantages,
    request_model_loss,
    sequential_select_head,
)


def agent_credit_config(**changes) -> PPOConfig:
    base = dict(n_envs=8, n_steps=8, batch_size=32, n_epochs=1, total_timesteps=128,
                net_arch={"pi": [16], "vf": [16]}, policy="discrete", actor="ippo",
                sequential_select=True, ent_coef=0.01, request_credit="agent")
    return PPOConfig(**{**base, **changes})


@pytest.mark.slow
@settings(max_examples=8, deadline=None)
@given(n=st.integers(1, 4), n_slots=st.integers(1, 4), seed=st.integers(0, 2**16),
       chained=st.booleans())
def test_the_parts_sum_to_the_joint_log_prob(n, n_slots, seed, chained):
    nvec = (n_slots + 1, 2) * n
    collaboration = "sequential" if chained else "independent"
    joint = sequential_select_head(nvec, collaboration)
    parts = sequential_select_head(nvec, collaboration, parts=True)
    rng = np.random.default_rng(seed)
    flat = jnp.asarray(rng.normal(size=(6, sum(nvec))) * 2, jnp.float32)
    actor_out = (flat,)
    if chained:
        actor_out += (jnp.asarray(rng.normal(size=(6, n, n_slots + 1, 17)), jnp.float32),)
    u = jax.random.uniform(jax.random.key(seed), (6, 2 * n, n_slots + 1), minval=1e-6)
    action, joint_log_prob = joint.sample(actor_out, u)
    action_parts, part_log_probs = parts.sample(actor_out, u)
    np.testing.assert_array_equal(action, action_parts)  # the same draw
    assert part_log_probs.shape == (6, 1 + n)
    np.testing.assert_allclose(part_log_probs.sum(-1), joint_log_prob, rtol=1e-5, atol=1e-5)
    (lp, ent), (lp_parts, ent_parts) = (h.log_prob_entropy(actor_out, action)
                                        for h in (joint, parts))
    np.testing.assert_allclose(lp_parts.sum(-1), lp, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(ent, ent_parts)


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**16), n=st.integers(1, 5))
def test_the_agents_advantages_sum_to_the_teams(seed, n):
    """GAE is linear: per-agent rewards and values give advantages that sum to the team's."""
    rng = np.random.default_rng(seed)
    steps, envs = 7, 3
    rewards = jnp.asarray(rng.normal(size=(steps, envs, n)), jnp.float32)
    values = jnp.asarray(rng.normal(size=(steps, envs, n)), jnp.float32)
    last = jnp.asarray(rng.normal(size=(envs, n)), jnp.float32)
    dones = jnp.asarray(rng.random((steps, envs)) < 0.3)
    per_agent, _ = compute_gae(rewards, values, dones, last, 0.9, 0.8)
    team, _ = compute_gae(rewards.sum(-1), values.sum(-1), dones, last.sum(-1), 0.9, 0.8)
    np.testing.assert_allclose(per_agent.sum(-1), team, rtol=1e-4, atol=1e-4)
    for i in range(n):  # and each agent's is the plain GAE of its own rewards and values
        alone, _ = compute_gae(rewards[..., i], values[..., i], dones, last[:, i], 0.9, 0.8)
        np.testing.assert_allclose(per_agent[..., i], alone, rtol=1e-6, atol=1e-6)


def split_loss_reference(log_prob, old, adv, values, returns, clip, others):
    """NumPy: the choices (column 0) take the normalised team advantage (the sum over agents),
    request i (column 1 + i) `A_i + others * sum_{j != i} A_j`, normalised over all agents'
    together."""
    def normalised(x):
        return (x - x.mean()) / (x.std(ddof=1) + 1e-8)

    team = normalised(adv.sum(-1))
    credit = np.stack([adv[:, i] + others * (adv.sum(-1) - adv[:, i])
                       for i in range(adv.shape[1])], -1)
    agents = normalised(credit)
    groups = np.concatenate([team[:, None], agents], -1)
    ratio = np.exp(log_prob - old)
    surrogate = np.minimum(ratio * groups, np.clip(ratio, 1 - clip, 1 + clip) * groups)
    joint = (log_prob - old).sum(-1)
    return (-surrogate.sum(-1).mean(), ((returns - values) ** 2).sum(-1).mean(),
            np.mean(np.exp(joint) - 1 - joint))


@pytest.mark.parametrize("seed, others", [(0, 0.0), (1, 0.0), (2, 0.5), (3, 1.0)])
def test_split_loss_matches_numpy(seed, others):
    rng = np.random.default_rng(seed)
    batch, n = 16, 3
    log_prob = rng.normal(size=(batch, 1 + n)) * 0.2
    old = log_prob + rng.normal(size=(batch, 1 + n)) * 0.3  # some ratios clip
    adv, values, returns = (rng.normal(size=(batch, n)) for _ in range(3))
    parts = request_advantages(jnp.asarray(adv, jnp.float32), others)
    loss, aux = ppo_loss_terms(
        *(jnp.asarray(x, jnp.float32) for x in (log_prob, old, parts, values, values, returns)),
        jnp.zeros(batch), clip_range=0.2, clip_range_vf=None, ent_coef=0.0, vf_coef=0.5)
    policy, value, kl = split_loss_reference(log_prob, old, adv, values, returns, 0.2, others)
    np.testing.assert_allclose(aux["policy_loss"], policy, rtol=1e-5)
    np.testing.assert_allclose(aux["value_loss"], value, rtol=1e-5)
    np.testing.assert_allclose(aux["approx_kl"], kl, rtol=1e-4)
    np.testing.assert_allclose(loss, policy + 0.5 * value, rtol=1e-5)


def test_advantages_given_in_parts_are_normalised_per_group():
    """Counterfactual credit hands the loss `[N, 1 + n]`: the choices' advantage, then each
    request's; column 0 is normalised alone, the requests' columns together."""
    rng = np.random.default_rng(4)
    batch, n = 16, 3
    log_prob = rng.normal(size=(batch, 1 + n)) * 0.2
    old = log_prob + rng.normal(size=(batch, 1 + n)) * 0.3
    adv = rng.normal(size=(batch, 1 + n)) * np.array([5.0, 0.1, 0.2, 0.3])
    values = returns = np.zeros(batch)
    _, aux = ppo_loss_terms(
        *(jnp.asarray(x, jnp.float32) for x in (log_prob, old, adv, values, values, returns)),
        jnp.zeros(batch), clip_range=0.2, clip_range_vf=None, ent_coef=0.0, vf_coef=0.5)
    normalised = lambda x: (x - x.mean()) / (x.std(ddof=1) + 1e-8)  # noqa: E731
    groups = np.concatenate([normalised(adv[:, :1]), normalised(adv[:, 1:])], -1)
    ratio = np.exp(log_prob - old)
    surrogate = np.minimum(ratio * groups, np.clip(ratio, 0.8, 1.2) * groups)
    np.testing.assert_allclose(aux["policy_loss"], -surrogate.sum(-1).mean(), rtol=1e-5)


def test_a_request_follows_its_own_agents_advantage():
    """Agent 0's request gains exactly where agent 0 did better, whatever the team did."""
    batch, n = 8, 2
    adv = np.zeros((batch, n), np.float32)
    adv[:4, 0], adv[4:, 0] = 1.0, -1.0  # agent 0: good in the first half
    adv[:4, 1], adv[4:, 1] = -3.0, 3.0  # agent 1 outweighs it in the team's sum
    log_prob = jnp.zeros((batch, 1 + n))

    def loss(lp):
        zeros = jnp.zeros((batch, n))
        return ppo_loss_terms(lp, jnp.zeros((batch, 1 + n)),
                              request_advantages(jnp.asarray(adv)), zeros, zeros,
                              zeros, jnp.zeros(batch), clip_range=0.2, clip_range_vf=None,
                              ent_coef=0.0, vf_coef=0.5)[0]

    grad = np.asarray(jax.grad(loss)(log_prob))
    assert (grad[:4, 1] < 0).all() and (grad[4:, 1] > 0).all()  # agent 0's request: its own
    assert (grad[:4, 0] > 0).all() and (grad[4:, 0] < 0).all()  # the choices: the team's


def test_request_credit_is_validated():
    with pytest.raises(ValueError, match="ppo.request_credit"):
        agent_credit_config(request_credit="mine").validate()
    with pytest.raises(ValueError, match="request_credit='agent' needs"):
        agent_credit_config(actor="mappo").validate()
    with pytest.raises(ValueError, match="request_credit='agent' needs"):
        agent_credit_config(sequential_select=False).validate()
    with pytest.raises(ValueError, match="ppo.request_others_weight"):
        agent_credit_config(request_others_weight=1.5).validate()
    counterfactual = agent_credit_config(request_credit="counterfactual", actor="mappo")
    counterfactual.validate()  # a team critic: any slot-scoring actor
    with pytest.raises(ValueError, match="'counterfactual' needs ppo.sequential_select=true "):
        agent_credit_config(request_credit="counterfactual", sequential_select=False).validate()
    with pytest.raises(ValueError, match="request_others_weight applies to per-agent credit"):
        agent_credit_config(request_credit="counterfactual",
                            request_others_weight=0.5).validate()


class NoAgentRewards(MultiAgentTaskEnvironment):
    """The env with the per-agent rewards taken out of its step info."""

    def step(self, key, state, action, params=None):
        *out, info = super().step(key, state, action, params)
        dropped = ("agent_rewards", "credited_rewards", "request_gains")
        return (*out, {k: v for k, v in info.items() if k not in dropped})


def test_an_env_without_agent_rewards_is_one_line():
    env = NoAgentRewards(n_agents=2, max_tasks=3, action_mode="select")
    for credit, key in (("agent", "agent_rewards"), ("credited", "credited_rewards"),
                        ("counterfactual", "request_gains")):
        with pytest.raises(ValueError, match=f"needs an env whose step info has {key};"):
            make_init(agent_credit_config(request_credit=credit), env, env.make_params())


@pytest.mark.slow
def test_ppo_update_with_per_agent_credit(collaboration="sequential"):
    env = MultiAgentTaskEnvironment(n_agents=3, max_tasks=3, action_mode="select")
    params = env.make_params(max_steps_in_episode=6)
    config = agent_credit_config(collaboration=collaboration, request_credit="credited")
    rs0 = jax.jit(make_init(config, env, params))(jax.random.key(0))
    values = rs0.train_state.apply_fn(rs0.train_state.params, rs0.obs, method="critic")
    assert values.shape == (config.n_envs, 3)  # one value per agent
    rs, metrics = jax.jit(make_update(config, env, params))(rs0)
    chex.assert_tree_all_finite((metrics, rs.train_state.params))
    moved = jax.tree.map(lambda a, b: float(jnp.abs(a - b).max()),
                         rs0.train_state.params, rs.train_state.params)
    assert min(jax.tree.leaves(moved)) > 0  # actor and critic both learn
    team = make_init(agent_credit_config(request_credit="team", collaboration=collaboration),
                     env, params)(jax.random.key(0))
    same = jax.tree.map(lambda a, b: a.shape == b.shape, rs0.train_state.params,
                        team.train_state.params)
    assert all(jax.tree.leaves(same))  # a checkpoint moves between the two credits


@pytest.mark.slow
def test_ppo_update_with_counterfactual_credit():
    """The rollout keeps each request's gain `[T, B, n]` beside the team's reward, the critic
    stays the team's, and an update moves every parameter; `request_model_coef` moves it
    elsewhere."""
    env = MultiAgentTaskEnvironment(n_agents=3, max_tasks=3, action_mode="select")
    params = env.make_params(max_steps_in_episode=6).with_collaboration_tradeoff(0.8, 0.2)
    config = agent_credit_config(collaboration="sequential", request_credit="counterfactual")
    rs0 = jax.jit(make_init(config, env, params))(jax.random.key(0))
    values = rs0.train_state.apply_fn(rs0.train_state.params, rs0.obs, method="critic")
    assert values.shape == (config.n_envs,)  # the team's value
    _, traj, _ = jax.jit(make_collect(config, env, params))(rs0, jax.random.key(1),
                                                             jax.random.key(2))
    assert traj.request_gains.shape == (config.n_steps, config.n_envs, 3)
    assert traj.reward.shape == (config.n_steps, config.n_envs)
    assert float(jnp.abs(traj.request_gains).max()) > 0
    rs, metrics = jax.jit(make_update(config, env, params))(rs0)
    chex.assert_tree_all_finite((metrics, rs.train_state.params))
    moved = jax.tree.map(lambda a, b: float(jnp.abs(a - b).max()),
                         rs0.train_state.params, rs.train_state.params)
    assert min(jax.tree.leaves(moved)) > 0
    # with the requests' cross-entropy (`request_model_coef`): same rollout and keys, so it
    # alone takes the update elsewhere
    modelled = config.replace(request_model_coef=1.0)
    rs_model, metrics = jax.jit(make_update(modelled, env, params))(rs0)
    chex.assert_tree_all_finite((metrics, rs_model.train_state.params))
    apart = jax.tree.map(lambda a, b: float(jnp.abs(a - b).max()),
                         rs.train_state.params, rs_model.train_state.params)
    assert max(jax.tree.leaves(apart)) > 1e-6


# ppo.request_model_coef: counterfactual credit plus the cross-entropy
MODEL = dict(request_credit="counterfactual", request_model_coef=1.0)


def log_softmax(x: np.ndarray) -> np.ndarray:
    x = x - x.max(-1, keepdims=True)
    return x - np.log(np.exp(x).sum(-1, keepdims=True))


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**16), n=st.integers(1, 4), n_slots=st.integers(1, 4))
def test_the_loss_is_the_weighted_cross_entropy_towards_the_better_request(seed, n, n_slots):
    """Independent requests: against NumPy's log-softmax of each agent's two request logits."""
    rng = np.random.default_rng(seed)
    batch = 12
    nvec = (n_slots + 1, 2) * n
    head = sequential_select_head(nvec, parts=True)
    logits = rng.normal(size=(batch, sum(nvec))).astype(np.float32) * 2
    choices = rng.integers(0, n_slots + 1, (batch, n))
    requests = rng.integers(0, 2, (batch, n))
    actions = np.stack([choices, requests], -1).reshape(batch, 2 * n).astype(np.float32)
    gains = rng.normal(size=(batch, n)).astype(np.float32)
    gains[0, 0] = 0.0  # a tie keeps the taken request

    better = np.where(gains >= 0, requests, 1 - requests)
    targets = better_requests(jnp.asarray(requests, jnp.float32), jnp.asarray(gains))
    np.testing.assert_array_equal(targets, better)
    loss = request_model_loss(head.request_logits((jnp.asarray(logits),), jnp.asarray(actions)),
                              jnp.asarray(requests), jnp.asarray(gains))
    # each agent's request logits are its 2 entries after its Q + 1 slot logits
    request_logits = logits.reshape(batch, n, n_slots + 3)[..., n_slots + 1:]
    picked = np.take_along_axis(log_softmax(request_logits), better[..., None], -1)[..., 0]
    weight = np.abs(gains) / (np.abs(gains).mean() + 1e-8)
    np.testing.assert_allclose(loss, -(weight * picked).mean(), rtol=1e-5, atol=1e-6)


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 2**16), n=st.integers(2, 4))
def test_sequential_requests_are_judged_given_the_earlier_agents_taken_requests(seed, n):
    """Sequential requests: the target's log-prob is the taken request's conditional (the
    head's log-prob in parts) where kept, its complement where flipped."""
    rng = np.random.default_rng(seed)
    batch, n_slots = 10, 3
    nvec = (n_slots + 1, 2) * n
    head = sequential_select_head(nvec, "sequential", parts=True)
    actor_out = (jnp.asarray(rng.normal(size=(batch, sum(nvec))), jnp.float32),
                 jnp.asarray(rng.normal(size=(batch, n, n_slots + 1, 9)), jnp.float32))
    u = jax.random.uniform(jax.random.key(seed), (batch, 2 * n, n_slots + 1), minval=1e-6)
    actions, part_log_probs = head.sample(actor_out, u)
    gains = jnp.asarray(rng.normal(size=(batch, n)), jnp.float32)
    loss = request_model_loss(head.request_logits(actor_out, actions),
                              actions[:, 1::2], gains)
    taken = np.asarray(part_log_probs[:, 1:], np.float64)
    picked = np.where(np.asarray(gains) >= 0, taken, np.log1p(-np.exp(taken)))
    weight = np.abs(gains) / (np.abs(gains).mean() + 1e-8)
    np.testing.assert_allclose(loss, -(weight * picked).mean(), rtol=1e-4, atol=1e-5)


def test_a_saturated_request_is_pulled_back_where_the_policy_gradient_is_not():
    """One agent requests with probability ~1 - 1e-13 and its request costs the team: the
    cross-entropy's gradient in the request logit is ~1, the policy gradient's ~0."""
    head = sequential_select_head((3, 2), parts=True)
    action = jnp.asarray([[0.0, 1.0]])  # slot 0, request
    gain = jnp.asarray([[-0.4]])

    def logits(shift):
        return (jnp.asarray([[0.0, 0.0, 0.0, 0.0, 30.0]]) + jnp.zeros(5).at[4].set(shift),)

    model = jax.grad(lambda s: request_model_loss(
        head.request_logits(logits(s), action), action[:, 1::2], gain))
    policy = jax.grad(lambda s: -(head.log_prob_entropy(logits(s), action)[0][0, 1] * gain[0, 0]))
    np.testing.assert_allclose(model(0.0), 1.0, rtol=1e-5)  # lowers the request logit at rate ~1
    assert abs(float(policy(0.0))) < 1e-6


def test_request_model_coef_is_validated():
    agent_credit_config(**MODEL).validate()
    with pytest.raises(ValueError, match="ppo.request_model_coef"):
        agent_credit_config(request_credit="counterfactual", request_model_coef=-1.0).validate()
    with pytest.raises(ValueError, match="request_model_coef=1.0 needs ppo.request_credit="
                                         "'counterfactual' \\(got 'team'; allowed: "
                                         "request_model_coef=0.0\\)"):
        agent_credit_config(request_credit="team", request_model_coef=1.0).validate()
    agent_credit_config(**MODEL, collaboration="sequential").validate()
