"""Answering a person: inside the user's experiment when one is running (what serves the user's
variant, its count and filters), each such answer recorded as an exposure; otherwise as the
serving model answers. Every route that serves a person answers through here."""

import dataclasses
import uuid

from fastapi import Request

from relevo.experiments.exposures import ExposureRow, ExposureWriter
from relevo.experiments.interleaving import team_draft
from relevo.experiments.live import Assignment
from relevo.experiments.models import INTERLEAVED, ExperimentKind
from relevo.experiments.service import Target
from relevo.recommend.answer import RecommendationList, UserRequest
from relevo.recommend.catalog_view import Filters
from relevo.recommend.ranking import component
from relevo.recommend.request_inputs import answer_inputs, events_since_training, refreshed, serving_state
from relevo.recommend.service import recommend_for_user


async def served(
    request: Request,
    asked: UserRequest,
    *,
    route: str,
    model: str | None = None,
    rule: str | None = None,
) -> RecommendationList:
    """The user's recommendations. `model`: a model the caller names (then no experiment
    serves); `rule`: rank with this component of whatever model serves, when it has one (the
    purchases API's co-purchase rule)."""
    assignment = None if model is not None else await assignment_for(request, asked.user_id)
    if assignment is None:
        return await _answer_from(request, asked, None if model is None else Target(model), rule)
    experiment = assignment.experiment
    if experiment.kind == ExperimentKind.interleaving:
        first, second = experiment.variants
        answers = [await _answer(request, asked, experiment.targets[name], rule) for name in (first, second)]
        answer, contributed = interleaved(answers, (first, second), asked.count)
    else:
        answer, contributed = await _answer(request, asked, experiment.targets[assignment.variant], rule), None
    variant = INTERLEAVED if contributed is not None else assignment.variant
    answer = dataclasses.replace(answer, experiment=(experiment.id, variant), preset_id=answer.recommendation_id)
    exposures(request).record(
        ExposureRow(
            recommendation_id=answer.recommendation_id,
            experiment_id=experiment.id,
            variant=variant,
            user_id=asked.user_id,
            items=[item.product.product_id for item in answer.items],
            credits=contributed,
            model_version_id=answer.version.version_id,
            route=route,
        )
    )
    return answer


def interleaved(
    answers: list[RecommendationList], names: tuple[str, str], count: int
) -> tuple[RecommendationList, list[str]]:
    """The two rankers' answers interleaved by team draft, seeded with the answer's own
    recommendation id, and per item the ranker (variant) that contributed it. An item's score
    is its ranker's; its confidence falls with its place, as the two rankers' scores do not
    compare."""
    first, second = answers
    recommendation_id = uuid.uuid4().hex
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
    contributed = [names[0] if team == "a" else names[1] for team in drafted.teams]
    answer = dataclasses.replace(
        first, items=items, algorithm=INTERLEAVED, preset_id=recommendation_id, bought_since=first.bought_since
    )
    return answer, contributed


async def assignment_for(request: Request, user_id: str) -> Assignment | None:
    live = serving_state(request).experiments
    await refreshed(serving_state(request), ("experiments",), True, live.needs_refresh(), live.refresh)
    return live.assign(user_id)


def exposures(request: Request) -> ExposureWriter:
    return request.app.state.exposures


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
