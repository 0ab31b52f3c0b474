"""Answering a person: inside the user's experiment when one is running (what serves the user's
variant, its count and filters); otherwise as the serving model answers. Every route that
serves a person answers through here, and each answer is recorded (recommend/recorded.py)."""

import dataclasses
import time

from fastapi import Request

from relevo.experiments.interleaving import team_draft
from relevo.experiments.live import Assignment
from relevo.experiments.models import INTERLEAVED, ExperimentKind
from relevo.experiments.service import Target
from relevo.recommend.answer import RecommendationList, UserRequest, new_recommendation_id
from relevo.recommend.catalog_view import Filters
from relevo.recommend.ranking import component
from relevo.recommend.recorded import record_answer
from relevo.recommend.request_inputs import answer_inputs, events_since_training, refreshed, serving_state
from relevo.recommend.service import recommend_for_user


async def served(
    request: Request,
    asked: UserRequest,
    *,
    route: str,
    model: str | None = None,
    rule: str | None = None,
    record: bool = True,
) -> RecommendationList:
    """The user's recommendations, recorded as served on `route` (recommend/recorded.py)
    unless `record` is false (the caller records what it shows instead). `model`: a model the
    caller names (then no experiment serves); `rule`: rank with this component of whatever
    model serves, when it has one (the purchases API's co-purchase rule)."""
    started = time.perf_counter()
    assignment = None if model is not None else await assignment_for(request, asked.user_id)
    if assignment is None:
        answer = await _answer_from(request, asked, None if model is None else Target(model), rule)
    else:
        answer = await _in_experiment(request, asked, assignment, rule)
    if record:
        record_answer(request, answer, route=route, started=started)
    return answer


async def _in_experiment(
    request: Request, asked: UserRequest, assignment: Assignment, rule: str | None
) -> RecommendationList:
    """The answer of the user's variant (for an interleaving test, both rankers' interleaved)."""
    experiment = assignment.experiment
    if experiment.kind == ExperimentKind.interleaving:
        first, second = experiment.variants
        answers = [await _answer(request, asked, experiment.targets[name], rule) for name in (first, second)]
        return interleaved(answers, (first, second), asked.count, experiment.id)
    answer = await _answer(request, asked, experiment.targets[assignment.variant], rule)
    return dataclasses.replace(
        answer, experiment=(experiment.id, assignment.variant), preset_id=answer.recommendation_id
    )


def interleaved(
    answers: list[RecommendationList], names: tuple[str, str], count: int, experiment_id: str
) -> RecommendationList:
    """The two rankers' answers interleaved by team draft, seeded with the answer's own
    recommendation id, with per item the ranker (variant) that contributed it. An item's score
    is its ranker's; its confidence falls with its place, as the two rankers' scores do not
    compare."""
    first, second = answers
    recommendation_id = new_recommendation_id()
    drafted = team_draft(
        [item.product.product_id for item in first.items],
        [item.product.product_id for item in second.items],
        count,
        recommendation_id,
    )
    by_product = {item.product.product_id: item for answer in (second, first) for item in answer.items}
    items = [
        by_product[product]._replace(confidence=round(1 - place / max(len(drafted), 1), 4))
        for place, product in enumerate(drafted.items)
    ]
    return dataclasses.replace(
        first,
        items=items,
        algorithm=INTERLEAVED,
        experiment=(experiment_id, INTERLEAVED),
        credits=tuple(names[0] if team == "a" else names[1] for team in drafted.teams),
        preset_id=recommendation_id,
        bought_since=first.bought_since,
    )


async def assignment_for(request: Request, user_id: str) -> Assignment | None:
    live = serving_state(request).experiments
    await refreshed(serving_state(request), ("experiments",), True, live.needs_refresh(), live.refresh)
    return live.assign(user_id)


async def _answer(request: Request, asked: UserRequest, target: Target, rule: str | None) -> RecommendationList:
    """The answer of what `target` names, with its count and filters when it has them."""
    count = target.count or asked.count
    filters = Filters(**dict(target.filters)) if target.filters else asked.filters
    return await _answer_from(request, asked._replace(count=count, filters=filters), target, rule)


async def _answer_from(
    request: Request, asked: UserRequest, target: Target | None, rule: str | None
) -> RecommendationList:
    model, number = (None, None) if target is None else (target.model, target.version)
    inputs = await answer_inputs(request, model, number)
    if rule is not None:
        asked = asked._replace(algorithm=rule if component(inputs.version.recommender, rule) else None)
    events = await events_since_training(inputs, asked.user_id)
    return recommend_for_user(inputs, events, asked)
