"""Everything the marks book does is in the API and its OpenAPI document."""

from __future__ import annotations

from tests.helpers import App

EXPECTED = {
    ("get", "/api/v1/marks/settings"),
    ("put", "/api/v1/marks/settings"),
    ("get", "/api/v1/marks/terms"),
    ("put", "/api/v1/marks/terms"),
    ("post", "/api/v1/marks/evaluations"),
    ("get", "/api/v1/marks/evaluations/{evaluation_id}"),
    ("patch", "/api/v1/marks/evaluations/{evaluation_id}"),
    ("delete", "/api/v1/marks/evaluations/{evaluation_id}"),
    ("put", "/api/v1/marks/evaluations/{evaluation_id}/marks"),
    ("get", "/api/v1/marks/evaluations/{evaluation_id}/history"),
    ("get", "/api/v1/marks/groups/{group_id}/grid"),
    ("get", "/api/v1/marks/groups/{group_id}/grid.csv"),
    ("get", "/api/v1/marks/pupils/{pupil_id}/report-card"),
}


async def test_the_openapi_document_lists_every_marks_operation(app: App) -> None:
    document = (await app.client.get("/api/v1/schema/openapi.json")).json()
    found = {
        (method, path)
        for path, operations in document["paths"].items()
        for method in operations
        if path.startswith("/api/v1/marks/")
    }
    assert found == EXPECTED
    schemas = document["components"]["schemas"]
    assert {"EvaluationDraft", "MarksColumn", "MarkEntry", "Grid", "ReportCard"} <= set(schemas)
    csv = document["paths"]["/api/v1/marks/groups/{group_id}/grid.csv"]["get"]["responses"]
    assert "text/csv" in csv["200"]["content"]
