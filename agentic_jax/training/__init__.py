"""The training core that runs and sweeps share.

A run is a one-member sweep. Modules: `member` (one member's init, chunk and evaluation: a
run jits them, a sweep batches them), `loop` (the chunk loop: a member-batched state in,
chunks out), `final_eval` (the best model on fresh episodes), `timings` (where the time goes:
`timings.json`), `schedule` (intervals in updates, the evaluation and final keys), `tracker`
(best model and stopping rules, vectorised over members), `checkpoint`/`leaves` (orbax
checkpoints of whole states), `store` (a run directory's files; atomic writes, records and
rewinding on resume, for runs and sweeps), `lock`/`guard`/`errors` (one writer per directory,
refusing an existing one, file-system failures as one line) and `orbax_logs` (quieting orbax's
copies of a reported failure).

Imports run one way: `env` <- `ppo` <- `training` <- `system`/`sweep` <- `cli`; nothing here
imports the facades.
"""
