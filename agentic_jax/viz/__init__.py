"""Pictures of what the agents do: record episodes in JAX, draw them with matplotlib (Agg).

* :mod:`.record` — :func:`record` a policy's episodes (one ``lax.scan`` each) and
  :func:`extract` who took which task when, load, queue, overdue tasks and collaboration.
* :mod:`.schedule` — the Gantt chart of an episode.
* :mod:`.specialisation` — task type x agent share of assignments beside the expertise, and a
  specialisation score.
* :mod:`.load` — per-agent load, queue length and overdue tasks over an episode.
* :mod:`.collaboration` — the collaboration matrix and collaboration frequency.
* :mod:`.pictures` — the trained policy as a policy function, and :func:`write_pictures`.

The env never imports this package (Jumanji's viewer rule).
"""

from agentic_jax.viz.collaboration import plot_collaboration
from agentic_jax.viz.load import plot_load
from agentic_jax.viz.pictures import learned_policy, record_policies, write_pictures
from agentic_jax.viz.record import Episode, Recording, extract, extract_all, record
from agentic_jax.viz.schedule import plot_schedule
from agentic_jax.viz.specialisation import plot_specialisation, specialisation_scores

__all__ = ["Episode", "Recording", "extract", "extract_all", "learned_policy",
           "plot_collaboration", "plot_load", "plot_schedule", "plot_specialisation",
           "record", "record_policies", "specialisation_scores", "write_pictures"]
