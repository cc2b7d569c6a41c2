"""The API documentation: Swagger UI served from static/ (no CDN) and the OpenAPI schema, signed-in users only."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from fieldlog.web import OPENAPI_URL, render, require

router = APIRouter(include_in_schema=False)

# static/swagger-ui-bundle-<version>.js, swagger-ui-<version>.css and the package's LICENSE and NOTICE,
# copied unchanged from the npm package swagger-ui-dist at this version.
SWAGGER_UI = "5.35.0"


@router.get(OPENAPI_URL)
def openapi_schema(request: Request, user=Depends(require())) -> JSONResponse:
    """The schema, to a session or a bearer token (anyone else gets 401, as from the API)."""
    return JSONResponse(request.app.openapi())


@router.get("/docs")
def api_docs(request: Request, user=Depends(require())):
    """Swagger UI; its start-up script is static/api-docs.js, as the CSP allows no inline script."""
    return render(request, "api_docs.html", {"swagger_ui": SWAGGER_UI, "openapi_url": OPENAPI_URL})
