"""Response bodies of the operations API."""

from pydantic import BaseModel


class Health(BaseModel):
    status: str
    version: str


class Readiness(BaseModel):
    status: str
    checks: dict[str, str]


class MemoryStatus(BaseModel):
    total: int
    available: int
    percent: float
    used: int
    free: int


class DiskStatus(BaseModel):
    total: int
    used: int
    free: int
    percent: float


class SystemStatus(BaseModel):
    status: str
    memory: MemoryStatus
    cpu_usage: str
    disk_usage: DiskStatus


class Stats(BaseModel):
    products: int
    stores: int
    users: int
    events: int
    events_by_type: dict[str, int]
    datasets: int
    accounts: int
