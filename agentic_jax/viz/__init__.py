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

from agentic_jax.viz.record import Episode, Recording, extract, extract_all, record

__all__ = ["Episode", "Recording", "extract", "extract_all", "record"]
