"""Seed 000 (background recommendation jobs): job status and a user's recommendations, in
the seed's shapes."""

from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from relevo.api.deps import CurrentCaller, Reader, SessionDep
from relevo.jobs import service as jobs_service
from relevo.jobs.schemas import JobRead
from relevo.recommend import service as recommend_service
from relevo.recommend.catalog_view import Filters
from relevo.recommend.requests import catalog_snapshot, recent_events, served_model

router = APIRouter(tags=["seed 000: background jobs"])


@router.get("/job-status/{job_id}", response_model=JobRead)
def job_status(job_id: str, _: CurrentCaller, session: SessionDep) -> JobRead:
    return JobRead.from_model(jobs_service.get_or_raise(session=session, job_id=job_id))


class StoredRecommendation(BaseModel):
    product_id: str
    score: float
    rank: int


@router.get("/recommendations/{user_id}", response_model=list[StoredRecommendation], dependencies=[Reader])
async def recommendations_for_user(
    request: Request, user_id: str, count: Annotated[int, Query(ge=1, le=200)] = 20
) -> list[StoredRecommendation]:
    served = await served_model(request)
    snapshot = await catalog_snapshot(request)
    await recent_events(request, served)
    serving = request.app.state.serving
    result = recommend_service.recommend_for_user(
        served=served, serving=serving, snapshot=snapshot, user_id=user_id, count=count, filters=Filters()
    )
    return [
        StoredRecommendation(product_id=item.product.product_id, score=round(item.score, 6), rank=rank)
        for rank, item in enumerate(result.items, start=1)
    ]
