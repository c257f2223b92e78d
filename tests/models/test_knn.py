from metakb.configs import canonical_json
from metakb.models import KnnWarmStarter, TaskQuery
from metakb.models._synthetic import synthetic_meta_dataset


def test_a_neighbours_best_configs_are_recommended_though_an_earlier_task_shares_them():
    # Every task evaluates the same configurations, so the pool credits most of
    # them to the first tasks; the last task's best must still be its neighbours'.
    data = synthetic_meta_dataset(n_tasks=6, n_configs=12, shared=True)
    model = KnnWarmStarter(n_neighbors=1, per_task=4, seed=0).fit(data)
    last = data.tasks[-1]
    recs = model.recommend(TaskQuery(data.meta_features_of(last.task_id)), 4)
    assert {canonical_json(r.config) for r in recs} == {
        canonical_json(last.configs[i]) for i in last.best(4)
    }
    assert {t for r in recs for t in r.source_tasks} == {last.task_id}
