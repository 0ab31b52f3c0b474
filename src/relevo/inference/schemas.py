"""Request and response bodies of inference."""

from datetime import date

from pydantic import BaseModel, Field

from relevo.core.fields import ExternalId
from relevo.customers.schemas import AsOfDate
from relevo.inference.service import MAX_CUSTOMERS, Predictions


class PredictRequest(BaseModel):
    customer_ids: list[ExternalId] = Field(
        min_length=1, max_length=MAX_CUSTOMERS, description="The shop's ids of the customers (repeats answered once)"
    )
    as_of: AsOfDate


class CustomerPrediction(BaseModel):
    customer_id: str
    prediction: float


class PredictionsRead(BaseModel):
    model: str
    version: int
    as_of: date
    predictions: list[CustomerPrediction] = Field(description="One per known customer, in the order asked")
    unknown_customer_ids: list[str] = Field(description="Customers Relevo does not know, in the order asked")

    @classmethod
    def from_predictions(cls, answer: Predictions) -> "PredictionsRead":
        return cls(
            model=answer.name,
            version=answer.version,
            as_of=answer.as_of,
            predictions=[
                CustomerPrediction(customer_id=customer, prediction=value)
                for customer, value in answer.predictions.items()
            ],
            unknown_customer_ids=answer.unknown,
        )
