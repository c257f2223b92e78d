"""Warm starts for other optimizers, as optional extras (``metakb[optuna]``, ``metakb[smac]``).

Each module hands metakb's recommendations to the optimizer's own warm-start
entry point: Optuna's ``Study.enqueue_trial`` (:mod:`metakb.integrations.optuna`)
and SMAC3's initial-design ``additional_configs`` (:mod:`metakb.integrations.smac`).
Configurations are keyed by the flow's parameter names, as in the knowledge base.
"""
