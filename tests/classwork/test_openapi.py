"""Everything classwork does is in the API and its OpenAPI document."""

from __future__ import annotations

from tests.helpers import App

EXPECTED = {
    ("get", "/api/v1/todo"),
    ("get", "/api/v1/pupils/{pupil_id}/todo"),
    ("get", "/api/v1/homework"),
    ("post", "/api/v1/homework"),
    ("get", "/api/v1/homework/{homework_id}"),
    ("patch", "/api/v1/homework/{homework_id}"),
    ("delete", "/api/v1/homework/{homework_id}"),
    ("post", "/api/v1/homework/{homework_id}/copy"),
    ("get", "/api/v1/homework/{homework_id}/revisions"),
    ("get", "/api/v1/homework/{homework_id}/hand-ins"),
    ("get", "/api/v1/homework/{homework_id}/hand-ins.zip"),
    ("get", "/api/v1/homework/{homework_id}/hand-ins/{pupil_id}"),
    ("post", "/api/v1/homework/{homework_id}/turn-in"),
    ("post", "/api/v1/homework/{homework_id}/take-back"),
    ("post", "/api/v1/homework/{homework_id}/done"),
    ("post", "/api/v1/homework/{homework_id}/hand-ins/{pupil_id}/return"),
    ("post", "/api/v1/homework/{homework_id}/hand-ins/{pupil_id}/missing"),
    ("post", "/api/v1/homework/{homework_id}/hand-ins/{pupil_id}/excused"),
    ("post", "/api/v1/homework/{homework_id}/hand-ins/{pupil_id}/reset"),
    ("put", "/api/v1/homework/{homework_id}/extensions/{pupil_id}"),
    ("delete", "/api/v1/homework/{homework_id}/extensions/{pupil_id}"),
    ("post", "/api/v1/files"),
    ("get", "/api/v1/files/{file_id}"),
}


async def test_the_openapi_document_lists_every_classwork_operation(app: App) -> None:
    response = await app.client.get("/api/v1/schema/openapi.json")
    assert response.status_code == 200
    document = response.json()
    found = {
        (method, path)
        for path, operations in document["paths"].items()
        for method in operations
        if method in {"get", "post", "put", "patch", "delete"}
    }
    assert not EXPECTED - found, sorted(EXPECTED - found)
    todo = document["paths"]["/api/v1/todo"]["get"]
    assert "304" in todo["responses"]
    schemas = document["components"]["schemas"]
    assert {"Todo", "HomeworkDraft", "HandInView", "TurnIn", "Review"} <= set(schemas)
    upload = document["paths"]["/api/v1/files"]["post"]["requestBody"]["content"]
    assert "multipart/form-data" in upload
