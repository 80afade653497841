"""Everything skills do is in the API and its OpenAPI document, with summaries."""

from __future__ import annotations

from tests.helpers import App

EXPECTED = {
    ("get", "/api/v1/skills/frameworks"),
    ("post", "/api/v1/skills/frameworks"),
    ("post", "/api/v1/skills/frameworks/{framework_id}/skills"),
    ("get", "/api/v1/skills/evaluations/{evaluation_id}/levels"),
    ("put", "/api/v1/skills/evaluations/{evaluation_id}/levels"),
    ("get", "/api/v1/skills/pupils/{pupil_id}/summary"),
}


async def test_the_openapi_document_lists_every_skills_operation(app: App) -> None:
    document = (await app.client.get("/api/v1/schema/openapi.json")).json()
    operations = {
        (method, path): operation
        for path, by_method in document["paths"].items()
        for method, operation in by_method.items()
        if path.startswith("/api/v1/skills/")
    }
    assert set(operations) == EXPECTED
    assert all(operation.get("summary") for operation in operations.values())
    schemas = document["components"]["schemas"]
    assert {"Framework", "LevelsColumn", "LevelEntry", "SkillsGrid", "SkillSummary"} <= set(schemas)
    levels = schemas["SkillLine"]["properties"]["level"]
    assert "very_good" in str(levels) or "Level" in str(levels)
    draft = schemas["EvaluationDraft"]["properties"]
    assert {"marked", "skill_ids"} <= set(draft)
