"""Everything attendance does is in the API and its OpenAPI document."""

from __future__ import annotations

from tests.helpers import App

EXPECTED = {
    ("get", "/api/v1/attendance/lessons/{lesson_id}/{day}"),
    ("put", "/api/v1/attendance/lessons/{lesson_id}/{day}"),
    ("get", "/api/v1/attendance/today"),
    ("post", "/api/v1/attendance/absences"),
    ("post", "/api/v1/attendance/absences/{absence_id}/justification"),
    ("post", "/api/v1/attendance/absences/{absence_id}/answer"),
    ("get", "/api/v1/attendance/absences/{absence_id}/document"),
    ("get", "/api/v1/attendance/pupils/{pupil_id}"),
    ("get", "/api/v1/attendance/pupils/{pupil_id}/history"),
    ("get", "/api/v1/attendance/groups/{group_id}"),
    ("get", "/api/v1/attendance/office"),
    ("put", "/api/v1/attendance/parents/{parent_id}/children/{child_id}"),
}


async def test_the_openapi_document_lists_every_attendance_operation(app: App) -> None:
    document = (await app.client.get("/api/v1/schema/openapi.json")).json()
    found = {
        (method, path)
        for path, operations in document["paths"].items()
        for method in operations
        if path.startswith("/api/v1/attendance/")
    }
    assert found == EXPECTED
    schemas = document["components"]["schemas"]
    assert {"RollCallDraft", "RollEntry", "RollCall", "PeriodDraft", "PupilAttendance"} <= set(
        schemas
    )
    justify = document["paths"]["/api/v1/attendance/absences/{absence_id}/justification"]
    assert "multipart/form-data" in justify["post"]["requestBody"]["content"]
    for path, operations in document["paths"].items():
        if path.startswith("/api/v1/attendance/"):
            for operation in operations.values():
                assert operation["summary"], path
